"""From the conversation's ``Reply`` to WhatsApp messages, within WhatsApp's limits:

- up to 3 choices whose labels fit 20 characters: reply buttons;
- more (our screens have at most 8): a list message, rows titled in 24 characters with the
  rest of a long label as the row's description (72);
- texts over the interactive body's 1 024 characters go first as plain messages;
- a photo as an image message, a document uploaded, a shop's place as a location;
- « share my number » as a reply button (WhatsApp knows the number: tapping it is the
  person's consent to give it to the shop).

WhatsApp cannot edit a message: a reply meant to replace the previous one is sent anew.

People type what they read, since WhatsApp numbers nothing: a title typed instead of
tapped is that choice (``typed_choice``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatshop.channels.texts import pieces, shorten
from chatshop.channels.whatsapp.inbound import SHARE_PHONE
from chatshop.conversation.messages import DECLINE_CONTACT, Button, Reply, same_title
from chatshop.i18n import _

TEXT_MAX = 4_096
BODY_MAX = 1_024  # interactive messages' body, captions
BUTTON_TITLE_MAX = 20
MAX_BUTTONS = 3
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
MAX_ROWS = 10


@dataclass(frozen=True)
class Part:
    """One message to send: its type and its JSON as the Cloud API takes it, plus, for
    a file, what to upload first (``upload``) or which kept file it is (``media``)."""

    type: str
    body: dict[str, Any] = field(default_factory=dict)
    upload: tuple[bytes, str, str] | None = None  # data, MIME type, file name
    media: str | None = None  # a kept file's reference (``media:<sha256>``)


def link_line(reply: Reply) -> str:
    """« 🌐 Voir sur le site : https://… », which WhatsApp makes a tappable address."""
    assert reply.link is not None
    return f"{reply.link.label}\u00a0: {reply.link.url}"


def parts(reply: Reply) -> list[Part]:
    """The messages that show ``reply`` on WhatsApp, in order."""
    out: list[Part] = []
    buttons = list(reply.all_buttons)
    text = reply.text
    if reply.link is not None:  # no URL buttons in free-form messages: the address, written
        text = f"{text}\n\n{link_line(reply)}".lstrip()
    if reply.photo is not None:
        caption = text if not buttons and len(text) <= BODY_MAX else ""
        out.append(_image(reply.photo, caption))
        if caption:
            text = ""
    # A file and a map cannot carry buttons: they come before the text and its buttons,
    # so that the screen ends with its way on.
    if reply.document is not None:
        document = reply.document
        # Meta takes text/plain, PDF and office files, not CSV or JSON as such.
        mime = "text/plain" if document.mime_type in ("text/csv", "application/json") \
            else document.mime_type
        out.append(Part("document", {"filename": document.file_name},
                        upload=(document.data, mime, document.file_name)))
    if reply.venue is not None:
        venue = reply.venue
        out.append(Part("location", {"latitude": venue.latitude, "longitude": venue.longitude,
                                     "name": venue.title, "address": venue.address}))
    if buttons:
        *before, body = pieces(text, TEXT_MAX) if len(text) > BODY_MAX else [text]
        out += [Part("text", {"body": piece}) for piece in before]
        if len(body) > BODY_MAX:
            out.append(Part("text", {"body": body}))
            body = "👇"
        out.append(interactive(body or "👇", buttons))
    elif text:
        out += [Part("text", {"body": piece}) for piece in pieces(text, TEXT_MAX)]
    if reply.ask_contact:
        out.append(interactive(_("📱 To give your number to the shop, press the button "
                                 "below."),
                               [Button(label=_("📱 Give my number"), payload=SHARE_PHONE),
                                Button(label=_("No thanks"), payload=DECLINE_CONTACT)]))
    return out


def split(reply: Reply) -> list[Reply]:
    """``reply`` as replies that are one WhatsApp message each (``parts`` of each gives
    exactly one part): sent one by one, a failure halfway resends only the rest."""
    base = {"regarding": reply.regarding, "to": reply.to}
    out: list[Reply] = []
    text = reply.text
    if reply.photo is not None:
        caption = text if not reply.buttons and len(text) <= BODY_MAX else ""
        out.append(Reply(text=caption, photo=reply.photo, **base))
        if caption:
            text = ""
    if reply.document is not None:
        out.append(Reply(text="", document=reply.document, **base))
    if reply.venue is not None:
        out.append(Reply(text="", venue=reply.venue, **base))
    if reply.buttons:
        *before, body = pieces(text, TEXT_MAX) if len(text) > BODY_MAX else [text]
        out += [Reply(text=piece, **base) for piece in before]
        if len(body) > BODY_MAX:
            out.append(Reply(text=body, **base))
            body = ""
        out.append(Reply(text=body or "👇", buttons=reply.buttons, **base))
    elif text:
        out += [Reply(text=piece, **base) for piece in pieces(text, TEXT_MAX)]
    if reply.ask_contact:
        out.append(Reply(text="", ask_contact=True, **base))
    return out


def typed_choice(typed: str, shown: list[Button]) -> Button | None:
    """The choice of ``shown`` whose title (as a reply button or a list row shows it) or
    whole label ``typed`` is: WhatsApp shows no numbers, so people type what they read.
    None when no choice, or more than one, has that title."""
    matches = {button.payload: button for button in shown
               if same_title(typed, button.label)
               or same_title(typed, shorten(button.label, ROW_TITLE_MAX))}
    return next(iter(matches.values())) if len(matches) == 1 else None


def _image(photo: str, caption: str) -> Part:
    body: dict[str, Any] = {"caption": caption} if caption else {}
    if photo.startswith("media:"):
        return Part("image", body, media=photo)
    if photo.startswith(("http://", "https://")):
        return Part("image", {**body, "link": photo})
    return Part("image", {**body, "id": photo})  # a media id WhatsApp gave us


def interactive(body: str, buttons: list[Button]) -> Part:
    """Reply buttons when they fit (3 short labels), else a list."""
    if len(buttons) <= MAX_BUTTONS and all(len(b.label) <= BUTTON_TITLE_MAX
                                           for b in buttons):
        return Part("interactive", {
            "type": "button", "body": {"text": body},
            "action": {"buttons": [{"type": "reply", "reply": {"id": b.payload,
                                                               "title": b.label}}
                                   for b in buttons]}})
    rows = []
    titles: set[str] = set()
    for button in buttons[:MAX_ROWS]:
        title = shorten(button.label, ROW_TITLE_MAX)
        number = 1
        while title in titles:  # labels alike once shortened: numbered to tell apart
            number += 1
            suffix = f" ({number})"
            title = shorten(button.label, ROW_TITLE_MAX - len(suffix)) + suffix
        titles.add(title)
        row: dict[str, Any] = {"id": button.payload, "title": title}
        if title != button.label:
            row["description"] = shorten(button.label, ROW_DESCRIPTION_MAX)
        rows.append(row)
    return Part("interactive", {
        "type": "list", "body": {"text": body},
        "action": {"button": _("Choose"), "sections": [{"title": _("Choices"),
                                                        "rows": rows}]}})


def template(name: str, language: str, text: str,
             quick_replies: tuple[str, ...] = ()) -> Part:
    """An approved template whose body has one parameter, ``text`` (on one line, as
    Meta wants parameters, cut at a word), and quick-reply buttons approved with it,
    each given the payload it sends back when tapped (``quick_replies``, in order)."""
    flat = " · ".join(line.strip() for line in text.splitlines() if line.strip())
    components: list[dict[str, Any]] = [{"type": "body", "parameters": [
        {"type": "text", "text": shorten(flat, 1_000) or "…"}]}]
    components += [{"type": "button", "sub_type": "quick_reply", "index": str(index),
                    "parameters": [{"type": "payload", "payload": payload}]}
                   for index, payload in enumerate(quick_replies)]
    return Part("template", {"name": name, "language": {"code": language},
                             "components": components})
