"""The webhook payloads Meta posts to a business, built in Meta's documented format: a user's
text, button and list replies, photos, documents, locations, contacts, and status callbacks;
their batching, encoding (ASCII only, ``/`` escaped) and signature (``X-Hub-Signature-256``).

:class:`WebhookPayloads` is a base of :class:`~tests.fakes.whatsapp.api.FakeGraphAPI`; building
a payload opens the user's 24-hour window, as their message does on WhatsApp."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from tests.fakes.common import JSON, TINY_PNG, copy_json
from tests.fakes.whatsapp.checks import MessageChecks, status_error
from tests.fakes.whatsapp.records import OutboundMessage, StoredMedia, UserState, digits, epoch


class WebhookPayloads(MessageChecks):
    """Builders of the payloads a user's actions make Meta post to the webhook."""

    display_phone_number: str
    phone_number_id: str
    waba_id: str
    bsuids: bool
    inbound: list[JSON]
    _users: dict[str, UserState]
    _statuses: list[JSON]

    if TYPE_CHECKING:  # defined by FakeGraphAPI and MediaEndpoints
        def now(self) -> float: ...
        def user_wrote(self, wa_id: str, at: float | datetime | None = None) -> None: ...
        def messages_to(self, wa_id: str) -> list[OutboundMessage]: ...
        def find(self, message_id: str) -> OutboundMessage | None: ...
        def _user(self, wa_id: str) -> UserState: ...
        def _name(self, wa_id: str, name: str | None) -> str: ...
        def _wamid(self, wa_id: str) -> str: ...
        def _store_media(self, data: bytes, mime_type: str,
                         origin: Literal["upload", "inbound"],
                         filename: str | None = None) -> StoredMedia: ...

    # ---------------------------------------------------------------- webhook payloads

    def text(
        self,
        wa_id: str,
        name: str | None = None,
        body: str = "",
        *,
        context_message_id: str | None = None,
        at: float | datetime | None = None,
    ) -> JSON:
        """The user sends a text (``context_message_id``: quoting one of the business's)."""
        message = self._inbound(wa_id, "text", {"body": body}, at)
        if context_message_id:
            message["context"] = {"from": self.display_phone_number, "id": context_message_id}
        return self._messages_payload(wa_id, name, message)

    def button_reply(
        self,
        wa_id: str,
        name: str | None = None,
        id: str = "",  # Meta's field name
        title: str | None = None,
        context_message_id: str | None = None,
        *,
        strict: bool = True,
        at: float | datetime | None = None,
    ) -> JSON:
        """The user taps the reply button ``id`` under a message delivered to them (by default
        the last one having it; its title is taken from there). ``strict=False`` lets a test
        forge a reply no delivered message offers (a stale or modified client)."""
        found = self._offered(wa_id, context_message_id, lambda m: dict(m.buttons).get(id))
        if found is None and strict:
            raise ValueError(self._not_offered(wa_id, "reply button", id, context_message_id))
        context = found[0].id if found else context_message_id
        chosen = {"id": id, "title": title if title is not None else (found[1] if found else id)}
        message = self._inbound(
            wa_id, "interactive", {"type": "button_reply", "button_reply": chosen}, at
        )
        if context:
            message["context"] = {"from": self.display_phone_number, "id": context}
        return self._messages_payload(wa_id, name, message)

    def list_reply(
        self,
        wa_id: str,
        name: str | None = None,
        id: str = "",  # Meta's field name
        title: str | None = None,
        description: str | None = None,
        context_message_id: str | None = None,
        *,
        strict: bool = True,
        at: float | datetime | None = None,
    ) -> JSON:
        """The user picks the list row ``id`` of a list delivered to them (by default the last
        one having it; title and description are taken from there)."""

        def row_of(message: OutboundMessage) -> tuple[str, str | None] | None:
            for row_id, row_title, row_description in message.rows:
                if row_id == id:
                    return row_title, row_description
            return None

        found = self._offered(wa_id, context_message_id, row_of)
        if found is None and strict:
            raise ValueError(self._not_offered(wa_id, "list row", id, context_message_id))
        row_title, row_description = found[1] if found else (id, None)
        chosen: JSON = {"id": id, "title": title if title is not None else row_title}
        if description is not None or row_description is not None:
            chosen["description"] = description if description is not None else row_description
        message = self._inbound(
            wa_id, "interactive", {"type": "list_reply", "list_reply": chosen}, at
        )
        context = found[0].id if found else context_message_id
        if context:
            message["context"] = {"from": self.display_phone_number, "id": context}
        return self._messages_payload(wa_id, name, message)

    def choose(
        self,
        wa_id: str,
        title: str,
        *,
        name: str | None = None,
        message_id: str | None = None,
        at: float | datetime | None = None,
    ) -> JSON:
        """The user taps the reply button or list row with this visible title, on the last
        delivered message offering it (or on ``message_id``)."""
        for message in reversed(self.messages_to(wa_id)):
            if message_id is not None and message.id != message_id:
                continue
            for button_id, button_title in message.buttons:
                if button_title == title:
                    return self.button_reply(wa_id, name, button_id, None, message.id, at=at)
            for row_id, row_title, _ in message.rows:
                if row_title == title:
                    return self.list_reply(wa_id, name, row_id, None, None, message.id, at=at)
        offered = [m.titles for m in self.messages_to(wa_id) if m.titles][-3:]
        raise ValueError(f"no button or row titled {title!r} offered to {wa_id}: {offered}")

    def image(
        self,
        wa_id: str,
        name: str | None = None,
        data: bytes = TINY_PNG,
        caption: str | None = None,
        *,
        mime_type: str | None = None,
        at: float | datetime | None = None,
    ) -> JSON:
        """The user sends a photo (``mime_type`` by default from the bytes: PNG or JPEG); its
        media id can be resolved and downloaded (GET /{id}, then the URL)."""
        if mime_type is None:
            mime_type = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
        media = self._store_media(data, mime_type, "inbound")
        content: JSON = {"mime_type": mime_type, "sha256": media.sha256, "id": media.id}
        if caption is not None:
            content = {"caption": caption, **content}
        return self._messages_payload(wa_id, name, self._inbound(wa_id, "image", content, at))

    def document(
        self,
        wa_id: str,
        name: str | None = None,
        data: bytes = b"",
        filename: str = "produits.csv",
        mime_type: str = "text/csv",
        caption: str | None = None,
        *,
        at: float | datetime | None = None,
    ) -> JSON:
        """The user sends a document (users may send any type, CSV included)."""
        media = self._store_media(data, mime_type, "inbound", filename)
        content: JSON = {
            "filename": filename,
            "mime_type": mime_type,
            "sha256": media.sha256,
            "id": media.id,
        }
        if caption is not None:
            content = {"caption": caption, **content}
        return self._messages_payload(wa_id, name, self._inbound(wa_id, "document", content, at))

    def location(
        self,
        wa_id: str,
        name: str | None = None,
        lat: float = 0.0,
        lon: float = 0.0,
        *,
        place_name: str | None = None,
        address: str | None = None,
        at: float | datetime | None = None,
    ) -> JSON:
        content: JSON = {"latitude": lat, "longitude": lon}
        if place_name is not None:
            content["name"] = place_name
        if address is not None:
            content["address"] = address
        return self._messages_payload(wa_id, name, self._inbound(wa_id, "location", content, at))

    def contacts(
        self,
        wa_id: str,
        name: str | None = None,
        phone: str = "",
        *,
        contact_name: str | None = None,
        at: float | datetime | None = None,
    ) -> JSON:
        """The user shares a contact card: by default their own (``phone`` and profile name)."""
        display = contact_name or self._name(wa_id, name)
        first, _, last = display.partition(" ")
        card_name: JSON = {"formatted_name": display, "first_name": first}
        if last:
            card_name["last_name"] = last
        phone_entry: JSON = {"phone": phone, "type": "CELL"}
        if digits(phone):
            phone_entry["wa_id"] = digits(phone)
        content = [{"name": card_name, "phones": [phone_entry]}]
        message = self._inbound(wa_id, "contacts", content, at)
        return self._messages_payload(wa_id, name, message)

    def status(
        self,
        message_id: str,
        status: Literal["sent", "delivered", "read", "failed"],
        errors: list[JSON] | None = None,
        *,
        recipient_id: str | None = None,
        at: float | datetime | None = None,
    ) -> JSON:
        """A status callback for a message the business sent. ``errors`` for ``failed`` (by
        default the error recorded on the message, or 131000); each error may be given as
        ``{"code": 131047}`` and is completed with Meta's title, message, details and href."""
        message = self.find(message_id)
        recipient = recipient_id or (message.to if message else None)
        if recipient is None:
            raise ValueError(f"unknown message {message_id}: pass recipient_id")
        if status == "failed" and not errors:
            errors = message.errors if message and message.errors else [{"code": 131000}]
        if message is not None and status == "read" and message.status == "delivered":
            message.status = "read"
        when = epoch(at, self.now)
        return self._status_payload(message, message_id, status, recipient, errors, when)

    def pending_statuses(self) -> list[JSON]:
        """Status payloads the fake generated itself (failures; with ``report_delivery``, sent
        and delivered too), oldest first, not yet taken."""
        return [copy_json(payload) for payload in self._statuses]

    def take_statuses(self) -> list[JSON]:
        """Like :meth:`pending_statuses`, and forget them (to post each once)."""
        taken, self._statuses = self._statuses, []
        return taken

    @staticmethod
    def combine(*payloads: JSON) -> JSON:
        """Several webhook payloads batched in one delivery, as Meta sometimes does."""
        entries = [entry for payload in payloads for entry in payload["entry"]]
        return {"object": "whatsapp_business_account", "entry": copy_json(entries)}

    @staticmethod
    def encode(payload: JSON) -> bytes:
        """The body as Meta sends it: compact JSON, ASCII only (``\\u00e9``) and ``/`` escaped."""
        text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
        return text.replace("/", "\\/").encode("ascii")

    @staticmethod
    def sign(body: bytes, app_secret: str) -> str:
        """The ``X-Hub-Signature-256`` header value for this raw body."""
        digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        return "sha256=" + digest

    @classmethod
    def signed(cls, payload: JSON, app_secret: str) -> tuple[bytes, dict[str, str]]:
        """``(body, headers)`` of Meta's POST of this payload to the webhook."""
        body = cls.encode(payload)
        return body, {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": cls.sign(body, app_secret),
            "User-Agent": "facebookexternalua",
        }

    @staticmethod
    def verification(verify_token: str, challenge: str = "1158201444") -> dict[str, str]:
        """The query parameters of Meta's GET that verifies a webhook endpoint."""
        return {
            "hub.mode": "subscribe",
            "hub.verify_token": verify_token,
            "hub.challenge": challenge,
        }

    def _inbound(self, wa_id: str, kind: str, content: Any, at: float | datetime | None) -> JSON:
        key = self._user(wa_id).wa_id
        moment = epoch(at, self.now)
        self.user_wrote(key, moment)
        message: JSON = {"from": key}
        if self.bsuids:
            message["from_user_id"] = self._users[key].bsuid
        message.update(id=self._wamid(key), timestamp=str(int(moment)), type=kind)
        message[kind] = content
        self.inbound.append(message)
        return message

    def _messages_payload(self, wa_id: str, name: str | None, message: JSON) -> JSON:
        key = digits(wa_id)
        contact: JSON = {"profile": {"name": self._name(key, name)}, "wa_id": key}
        if self.bsuids:
            user = self._users[key]
            contact.update(user_id=user.bsuid, country_code=user.country)
        value = {"contacts": [contact], "messages": [message]}
        payload = self._envelope(value)
        self._notify()
        return dict(copy_json(payload))

    def _status_payload(
        self,
        message: OutboundMessage | None,
        message_id: str,
        status: str,
        recipient_id: str,
        errors: list[JSON] | None,
        at: float,
    ) -> JSON:
        entry: JSON = {
            "id": message_id,
            "status": status,
            "timestamp": str(int(at)),
            "recipient_id": recipient_id,
        }
        value: JSON = {}
        known = self._users.get(recipient_id)
        if self.bsuids and known is not None and status != "failed":
            # Since the 2026 usernames change: a contacts array and the recipient's BSUID on
            # sent/delivered/read statuses; neither on failed ones (sent to a phone number).
            entry["recipient_user_id"] = known.bsuid
            value["contacts"] = [{"wa_id": known.wa_id, "user_id": known.bsuid}]
        if message is not None and message.tracker is not None:
            entry["biz_opaque_callback_data"] = message.tracker
        if status in ("sent", "delivered"):
            category = "service"
            if message is not None and message.type == "template":
                template = self.templates.get(
                    (message.template_name or "", message.template_language or "")
                )
                category = (template.category if template else "UTILITY").lower()
            entry["pricing"] = {
                "billable": category != "service",
                "pricing_model": "PMP",
                "category": category,
                "type": "regular" if category != "service" else "free_customer_service",
            }
        if errors:
            entry["errors"] = [status_error(e) for e in errors]
        value["statuses"] = [entry]
        return self._envelope(value)

    def _envelope(self, value: JSON) -> JSON:
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.waba_id,
                    "changes": [
                        {
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": self.display_phone_number,
                                    "phone_number_id": self.phone_number_id,
                                },
                                **value,
                            },
                            "field": "messages",
                        }
                    ],
                }
            ],
        }

    def _offered(
        self, wa_id: str, message_id: str | None, pick: Callable[[OutboundMessage], Any]
    ) -> tuple[OutboundMessage, Any] | None:
        for message in reversed(self.messages_to(wa_id)):
            if message_id is not None and message.id != message_id:
                continue
            value = pick(message)
            if value is not None:
                return message, value
        return None

    def _not_offered(self, wa_id: str, what: str, value: str, message_id: str | None) -> str:
        where = f"message {message_id}" if message_id else "any message delivered"
        offered = [(m.id[-8:], m.buttons or m.rows) for m in self.messages_to(wa_id)][-3:]
        return f"no {what} {value!r} in {where} to {wa_id}; last offers: {offered}"

