"""Meta's webhook payloads, read: the messages people send (text, a tapped button or list
row, a photo with its caption, a document, a location, a contact card) and the status
callbacks of the messages we sent (sent, delivered, read, failed).

A payload is read into small records first (``WhatsAppMessage``, ``WhatsAppStatus``),
each with the id the channel writes down to recognise a retried webhook; turning a
message into the conversation's ``Inbound`` may need its media downloaded, which the
channel does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from chatshop.conversation.messages import (
    Command,
    ContactIn,
    Event,
    LocationIn,
    Press,
    Text,
    Unsupported,
)

SHARE_PHONE = "contact:share"  # the id of our « share my number » reply button
# A shared link (wa.me/<number>?text=...) arrives as text: « Bonjour ! p_12 ».
_DEEP_LINK = re.compile(r"(?:bonjour\s*!\s*)?((?:p|s|i)_[A-Za-z0-9_-]{1,62})", re.IGNORECASE)


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
        return json.dumps({"id": self.id, "wa_id": self.wa_id, "name": self.name,
                           "kind": self.kind, "body": self.body}, ensure_ascii=False)

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


def read(payload: dict[str, Any]) -> tuple[list[WhatsAppMessage], list[WhatsAppStatus]]:
    """The messages and statuses of a webhook payload (anything else is left aside)."""
    messages: list[WhatsAppMessage] = []
    statuses: list[WhatsAppStatus] = []
    if payload.get("object") != "whatsapp_business_account":
        return messages, statuses
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            if change.get("field") != "messages":
                continue
            value = change.get("value") or {}
            names = {c.get("wa_id"): (c.get("profile") or {}).get("name", "")
                     for c in value.get("contacts") or []}
            for message in value.get("messages") or []:
                wa_id = str(message.get("from", ""))
                kind = str(message.get("type", ""))
                if not wa_id or not message.get("id"):
                    continue
                messages.append(WhatsAppMessage(
                    id=str(message["id"]), wa_id=wa_id, name=str(names.get(wa_id) or ""),
                    kind=kind, body=dict(message.get(kind) or {})))
            for status in value.get("statuses") or []:
                errors = status.get("errors") or []
                statuses.append(WhatsAppStatus(
                    message_id=str(status.get("id", "")), status=str(status.get("status", "")),
                    recipient=str(status.get("recipient_id", "")),
                    error_codes=tuple(int(e.get("code", 0)) for e in errors),
                    error_text="; ".join(str(e.get("title") or e.get("message") or "")
                                         for e in errors)))
    return messages, statuses


def event_of(message: WhatsAppMessage) -> Event | None:
    """The conversation's event for a message that needs no download (None: it has a
    photo or a document, which the channel fetches first)."""
    body = message.body
    if message.kind == "text":
        text = str(body.get("body", "")).strip()
        if text.startswith("/") and len(text) > 1:
            name, _sep, args = text[1:].partition(" ")
            return Command(name=name.lower(), args=args.strip())
        link = _DEEP_LINK.fullmatch(text)
        if link:
            return Command(name="start", args=link[1])
        return Text(text=text) if text else Unsupported()
    if message.kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply") or {}
        chosen = str(reply.get("id", ""))
        if chosen == SHARE_PHONE:
            return ContactIn(phone="+" + message.wa_id)
        return Press(payload=chosen) if chosen else Unsupported()
    if message.kind == "button":  # a quick-reply button of a template
        chosen = str(body.get("payload", ""))
        return Press(payload=chosen) if chosen else Unsupported()
    if message.kind == "location":
        try:
            return LocationIn(latitude=float(body["latitude"]),
                              longitude=float(body["longitude"]))
        except (KeyError, TypeError, ValueError):
            return Unsupported()
    if message.kind == "contacts":
        return Unsupported()  # someone else's card: we only take one's own number
    if message.kind in ("image", "document"):
        return None
    return Unsupported()
