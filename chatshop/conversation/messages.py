"""The channel contract: what a channel hands to the conversation, and what it gets back.

A channel turns a platform update into an ``Inbound`` (who, and one ``Event``) and renders
each ``Reply`` as well as its platform allows. Button payloads are short opaque strings
(at most 64 bytes, Telegram's limit); the conversation re-checks everything they name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chatshop.domain.models import Channel
from chatshop.domain.text import fold

MAX_PAYLOAD_BYTES = 64
MAX_BUTTONS = 8
# The payload of « Non merci » under an offer to share one's number (``ask_contact``),
# where a platform shows that offer with buttons of its own.
DECLINE_CONTACT = "nophone"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def well_formed(text: str) -> str:
    """``text`` with each lone surrogate (half of a broken UTF-16 pair, which a JSON
    escape or a console's undecodable byte can carry) replaced by U+FFFD: such text
    can be neither encoded, stored nor sent back."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


class _Received(_Frozen):
    """What a person sent: its text is made encodable on the way in."""

    @field_validator("*", mode="after")
    @classmethod
    def _encodable(cls, value: object) -> object:
        return well_formed(value) if isinstance(value, str) else value


class Command(_Received):
    """``/name args``; on ``/start`` the args are the deep-link payload."""

    kind: Literal["command"] = "command"
    name: str
    args: str = ""


class Text(_Received):
    kind: Literal["text"] = "text"
    text: str


class Press(_Received):
    """A button was pressed; ``payload`` is what the button carried."""

    kind: Literal["press"] = "press"
    payload: str


class PhotoIn(_Received):
    """A photo: the platform's reference, and ``kept``, a copy chatshop keeps
    (``media:…``) that other platforms can show, when the channel made one."""

    kind: Literal["photo"] = "photo"
    file_ref: str
    caption: str = ""
    kept: str | None = None


class DocumentIn(_Received):
    """A file; a channel sends ``too_large`` (and no data) for one it did not fetch."""

    kind: Literal["document"] = "document"
    file_name: str
    data: bytes
    too_large: bool = False


class ContactIn(_Received):
    kind: Literal["contact"] = "contact"
    phone: str


class LocationIn(_Frozen):
    kind: Literal["location"] = "location"
    latitude: float
    longitude: float


class Unsupported(_Frozen):
    """Something the bot cannot read (a sticker, a voice message, someone else's
    contact card...): it still gets an answer, never silence."""

    kind: Literal["unsupported"] = "unsupported"


Event = Command | Text | Press | PhotoIn | DocumentIn | ContactIn | LocationIn | Unsupported


class Inbound(_Frozen):
    """One event from one person on one channel."""

    channel: Channel
    user_id: str = Field(min_length=1, max_length=64)
    display_name: str = ""
    event: Event = Field(discriminator="kind")
    # A channel whose people type the titles of the choices they see (WhatsApp shows no
    # numbers) asks the conversation to keep the choices it answers with, in the state
    # that a restart does not lose: ``Conversation.shown_choices`` gives them back.
    keep_choices: bool = False

    @field_validator("display_name", mode="after")
    @classmethod
    def _encodable_name(cls, name: str) -> str:
        return well_formed(name)


def same_title(typed: str, title: str) -> bool:
    """Whether ``typed`` is the title of a choice as a person types it: accents, case,
    emoji and punctuation aside (« retour » is « ⬅️ Retour »)."""
    wanted = _letters(typed)
    return bool(wanted) and wanted == _letters(title)


def _letters(text: str) -> str:
    return "".join(filter(str.isalnum, fold(text)))


class Button(_Frozen):
    """``answers``: this button is the « yes » or the « no » of a yes/no question, so
    that « oui » or « non » typed instead means the same."""

    label: str
    payload: str
    answers: Literal["yes", "no"] | None = None

    @field_validator("payload")
    @classmethod
    def _fits_every_platform(cls, payload: str) -> str:
        if not 0 < len(payload.encode()) <= MAX_PAYLOAD_BYTES:
            raise ValueError(f"button payload must be 1..64 bytes: {payload!r}")
        return payload


class Link(_Frozen):
    """A button that opens an address (a web page, a deep link) rather than answering the
    bot: Telegram shows it as a URL button; a platform without such buttons writes the
    label and the address under the text. Only ``http(s)`` addresses."""

    label: str
    url: str

    @field_validator("url")
    @classmethod
    def _web_address(cls, url: str) -> str:
        if not url.startswith(("https://", "http://")) or len(url) > 2048:
            raise ValueError(f"a link opens an http(s) address: {url!r}")
        return url


class Document(_Frozen):
    """A file to send (a CSV export, a PDF to print, a PNG chart). Its bytes travel as
    base64 in JSON (an outbox row, a reply kept for a retry): a PDF is not UTF-8."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64",
                              val_json_bytes="base64")

    file_name: str
    data: bytes
    mime_type: str = "text/csv"


class Venue(_Frozen):
    """A place to show on a map (a shop with known coordinates)."""

    latitude: float
    longitude: float
    title: str
    address: str


class Recipient(_Frozen):
    """Another person a reply is sent to (a notification)."""

    channel: Channel
    user_id: str
    display_name: str = ""


class Reply(_Frozen):
    """One message from the bot. ``edit`` asks to replace the previous message (paging,
    quantity steps) where the platform can; ``to`` makes it a notification for someone
    else (``regarding`` names the reservation it is about, so that a channel that
    cannot deliver it can say so to the shop); ``ask_contact`` offers the platform's
    "share my phone number" button (and a way to say no), ``ends_contact_request`` answers
    it: a channel that showed a keyboard of its own for the offer takes it away;
    ``expects_text`` says the next typed line answers a question, ``expects_number`` that
    this question asks for a number (a stock, a price: a number typed then is the answer,
    never the choice of that number; at any other question it is)."""

    text: str
    photo: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    document: Document | None = None
    venue: Venue | None = None
    edit: bool = False
    to: Recipient | None = None
    ask_contact: bool = False
    ends_contact_request: bool = False
    expects_text: bool = False  # the bot asked a question: what is typed next answers it
    expects_number: bool = False  # ...and its answer is a number
    regarding: int | None = None  # the reservation a notification is about
    link: Link | None = None  # a button that opens an address, under the others

    @field_validator("buttons")
    @classmethod
    def _short_screens(cls, rows: tuple[tuple[Button, ...], ...]) -> tuple[tuple[Button, ...], ...]:
        count = sum(len(row) for row in rows)
        if count > MAX_BUTTONS:
            raise ValueError(f"a screen has at most {MAX_BUTTONS} buttons, not {count}")
        return tuple(row for row in rows if row)

    @property
    def all_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]
