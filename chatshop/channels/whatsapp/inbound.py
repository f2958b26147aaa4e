"""Meta's webhook payloads, read: the messages people send (text, a tapped button or list
row, a photo with its caption, a document, a location, a contact card) and the status
callbacks of the messages we sent (sent, delivered, read, failed).

A payload is read into small records first (``WhatsAppMessage``, ``WhatsAppStatus``),
each with the id the channel writes down to recognise a retried webhook; turning a
message into the conversation's ``Inbound`` may need its media downloaded, which the
channel does.

A payload is signed by Meta but what it carries came from people's phones: every field is
checked for its type before it is used, never turned into text with ``str()``, and
reading never raises. A field of the wrong type is a field missing; a message without a
usable id, or whose sender is not a phone number (E.164, digits only, as Meta writes
``from``), is no one to answer: it is logged and left aside.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from chatshop.conversation.messages import (
    Command,
    ContactIn,
    Event,
    LocationIn,
    Press,
    Text,
    Unsupported,
    well_formed,
)

log = logging.getLogger(__name__)

SHARE_PHONE = "contact:share"  # the id of our « share my number » reply button
# A shared link (wa.me/<number>?text=...) arrives as text: « Bonjour ! p_12 ».
_DEEP_LINK = re.compile(r"(?:bonjour\s*!\s*)?((?:p|s|i)_[A-Za-z0-9_-]{1,62})", re.IGNORECASE)
# A phone number in E.164 without its « + »: a country code (never 0), 15 digits at most.
_WA_ID = re.compile(r"[1-9][0-9]{6,14}")
# Meta's media ids are digits; never anything that would change the Graph API path.
_MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
MAX_ID = 256  # a wamid is about 60 characters
MAX_NAME = 256  # a profile name; the conversation keeps 64 characters of it
MAX_KIND = 32
MAX_ERROR_TEXT = 500


@dataclass(frozen=True)
class WhatsAppMessage:
    """One message a person sent us."""

    id: str  # wamid
    wa_id: str
    name: str
    kind: str  # text, interactive, image, document, location, contacts, button...
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        return self.id

    def payload(self) -> str:
        """The message as it is written down: ASCII JSON, so that text carrying half of
        an emoji (a JSON « \\ud83d ») is stored like any other."""
        return json.dumps({"id": self.id, "wa_id": self.wa_id, "name": self.name,
                           "kind": self.kind, "body": self.body}, ensure_ascii=True)

    @classmethod
    def from_payload(cls, text: str) -> WhatsAppMessage:
        data = json.loads(text)
        return cls(id=data["id"], wa_id=data["wa_id"], name=data["name"],
                   kind=data["kind"], body=data["body"])


@dataclass(frozen=True)
class WhatsAppStatus:
    """What became of a message we sent: ``sent``, ``delivered``, ``read`` or ``failed``
    (with Meta's error codes, e.g. 131047 outside the 24-hour window)."""

    message_id: str
    status: str
    recipient: str
    error_codes: tuple[int, ...] = ()
    error_text: str = ""

    @property
    def event_id(self) -> str:
        return f"status:{self.message_id}:{self.status}"


def is_wa_id(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a WhatsApp id we can answer: a phone number, digits only."""
    return isinstance(value, str) and _WA_ID.fullmatch(value) is not None


def read(payload: object) -> tuple[list[WhatsAppMessage], list[WhatsAppStatus]]:
    """The messages and statuses of a webhook payload (anything else is left aside)."""
    messages: list[WhatsAppMessage] = []
    statuses: list[WhatsAppStatus] = []
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return messages, statuses
    for entry in _objects(payload, "entry"):
        for change in _objects(entry, "changes"):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            names = _names(value)
            for each in _objects(value, "messages"):
                message = _message(each, names)
                if message is not None:
                    messages.append(message)
            for each in _objects(value, "statuses"):
                status = _status(each)
                if status is not None:
                    statuses.append(status)
    return messages, statuses


def _message(message: dict[str, Any], names: dict[str, str]) -> WhatsAppMessage | None:
    wamid, sender = message.get("id"), message.get("from")
    if not isinstance(wamid, str) or not 0 < len(wamid) <= MAX_ID:
        log.warning("WhatsApp message without a usable id (%.80r): ignored", wamid)
        return None
    if not is_wa_id(sender):
        log.warning("WhatsApp message %.80r from %.40r, not a phone number: ignored",
                    wamid, sender)
        return None
    kind = message.get("type")
    kind = kind if isinstance(kind, str) and len(kind) <= MAX_KIND else ""
    body = message.get(kind) if kind else None
    return WhatsAppMessage(id=wamid, wa_id=sender, name=names.get(sender, ""), kind=kind,
                           body=body if isinstance(body, dict) else {})


def _names(value: dict[str, Any]) -> dict[str, str]:
    """The profile names of the senders, by their WhatsApp id."""
    names = {}
    for contact in _objects(value, "contacts"):
        wa_id, profile = contact.get("wa_id"), contact.get("profile")
        name = profile.get("name") if isinstance(profile, dict) else None
        if is_wa_id(wa_id) and isinstance(name, str):
            names[wa_id] = well_formed(name[:MAX_NAME])
    return names


def _status(status: dict[str, Any]) -> WhatsAppStatus | None:
    message_id, state = status.get("id"), status.get("status")
    if not (isinstance(message_id, str) and 0 < len(message_id) <= MAX_ID
            and isinstance(state, str) and 0 < len(state) <= MAX_KIND):
        log.warning("WhatsApp status of %.80r without a usable id or status: ignored",
                    message_id)
        return None
    recipient = status.get("recipient_id")
    if not is_wa_id(recipient):
        recipient = ""  # then no one is marked unreachable by it
    errors = list(_objects(status, "errors"))
    codes = tuple(e["code"] for e in errors if _integer(e.get("code")))
    texts = [text for text in (_first_text(e, "title", "message") for e in errors) if text]
    return WhatsAppStatus(message_id=message_id, status=state, recipient=recipient,
                          error_codes=codes,
                          error_text=well_formed("; ".join(texts)[:MAX_ERROR_TEXT]))


@dataclass(frozen=True)
class Attachment:
    """A photo's or a document's media id (to fetch it by), caption and file name."""

    media_id: str
    caption: str
    file_name: str


def attachment(message: WhatsAppMessage) -> Attachment | None:
    """What fetching the photo or document of ``message`` needs (None: it has none, or
    no usable media id)."""
    media_id = message.body.get("id")
    if message.kind not in ("image", "document") or not isinstance(media_id, str) \
            or _MEDIA_ID.fullmatch(media_id) is None:
        return None
    return Attachment(media_id=media_id, caption=_text(message.body, "caption"),
                      file_name=_text(message.body, "filename") or "fichier")


def event_of(message: WhatsAppMessage) -> Event | None:
    """The conversation's event for a message that needs no download (None: it has a
    photo or a document, which the channel fetches first)."""
    body = message.body
    if message.kind == "text":
        text = _text(body, "body").strip()
        if text.startswith("/") and len(text) > 1:
            name, _sep, args = text[1:].partition(" ")
            return Command(name=name.lower(), args=args.strip())
        link = _DEEP_LINK.fullmatch(text)
        if link:
            return Command(name="start", args=link[1])
        return Text(text=text) if text else Unsupported()
    if message.kind == "interactive":
        reply = _object(body, "button_reply") or _object(body, "list_reply") or {}
        chosen = _text(reply, "id")
        if chosen == SHARE_PHONE:
            return ContactIn(phone="+" + message.wa_id)
        return Press(payload=chosen) if chosen else Unsupported()
    if message.kind == "button":  # a quick-reply button of a template
        chosen = _text(body, "payload")
        return Press(payload=chosen) if chosen else Unsupported()
    if message.kind == "location":
        latitude, longitude = body.get("latitude"), body.get("longitude")
        if _coordinate(latitude, 90) and _coordinate(longitude, 180):
            return LocationIn(latitude=latitude, longitude=longitude)
        return Unsupported()
    if message.kind == "contacts":
        return Unsupported()  # someone else's card: we only take one's own number
    if message.kind in ("image", "document"):
        return None if attachment(message) is not None else Unsupported()
    return Unsupported()


def _objects(holder: dict[str, Any], key: str) -> Iterator[dict[str, Any]]:
    """The objects in the list ``holder[key]`` (no list there: none; anything in it
    that is not an object is left aside)."""
    items = holder.get(key)
    if isinstance(items, list):
        yield from (item for item in items if isinstance(item, dict))


def _object(holder: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = holder.get(key)
    return value if isinstance(value, dict) else None


def _text(holder: dict[str, Any], key: str) -> str:
    value = holder.get(key)
    return value if isinstance(value, str) else ""


def _first_text(holder: dict[str, Any], *keys: str) -> str:
    return next((text for key in keys if (text := _text(holder, key))), "")


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _coordinate(value: object, bound: int) -> bool:
    """Whether ``value`` is a number between ``-bound`` and ``bound`` (a latitude: 90)."""
    # Compared, not converted: NaN compares false, and an int past a float's range is
    # no OverflowError.
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and -bound <= value <= bound
