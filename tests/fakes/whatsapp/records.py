"""What the fake Graph API records and what tests read: every request received
(:class:`GraphCall`), the messages the business sent (:class:`OutboundMessage`, delivered or
failed), media, templates, the users and their windows, and the faults queued."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from tests.fakes.common import JSON
from tests.fakes.whatsapp.meta import MEDIA_MESSAGE_TYPES

Operation = Literal[
    "send", "mark_read", "upload", "media_url", "download", "delete_media", "unknown"
]



@dataclass
class GraphCall:
    """One HTTP request the fake received, whatever became of it."""

    method: str
    url: str
    path: str
    """The path without the API version (``/106540352242922/messages``)."""
    operation: Operation
    at: float
    version: str | None = None
    token: str | None = None
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str | None, bytes, str | None]] = field(default_factory=dict)
    status: int | None = None
    """HTTP status answered; None when the call raised (timeout, outage)."""
    outcome: Literal["pending", "ok", "error", "timeout", "network"] = "pending"
    error: JSON | None = None
    """The ``error`` object answered, if any."""
    response: Any = None
    message: OutboundMessage | None = None
    """The message this send created (delivered or failed), if any."""

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def error_code(self) -> int | None:
        return None if self.error is None else self.error.get("code")

    @property
    def error_details(self) -> str | None:
        if self.error is None:
            return None
        data = self.error.get("error_data")
        return data.get("details") if isinstance(data, dict) else None


@dataclass
class OutboundMessage:
    """A message the business sent, accepted by the API: ``delivered`` or ``failed``."""

    id: str
    to: str
    """The recipient's wa_id (digits only)."""
    type: str
    payload: JSON = field(repr=False)
    """The request body, as sent."""
    at: float
    status: Literal["delivered", "failed", "read"] = "delivered"
    errors: list[JSON] = field(default_factory=list)
    rendered: str | None = None
    """For a template whose text is registered: its body with the parameters filled in."""

    @property
    def content(self) -> JSON:
        value = self.payload.get(self.type)
        return value if isinstance(value, dict) else {}

    @property
    def interactive_type(self) -> str | None:
        return self.content.get("type") if self.type == "interactive" else None

    @property
    def text(self) -> str | None:
        """What the user reads: the text body, the caption, the interactive body, or the
        rendered template (when its text was registered)."""
        if self.type == "text":
            return self.content.get("body")
        if self.type in MEDIA_MESSAGE_TYPES:
            return self.content.get("caption")
        if self.type == "interactive":
            return (self.content.get("body") or {}).get("text")
        if self.type == "template":
            return self.rendered
        if self.type == "location":
            return self.content.get("name")
        return None

    @property
    def caption(self) -> str | None:
        return self.content.get("caption") if self.type in MEDIA_MESSAGE_TYPES else None

    @property
    def header(self) -> str | None:
        header = self.content.get("header") if self.type == "interactive" else None
        return header.get("text") if isinstance(header, dict) else None

    @property
    def footer(self) -> str | None:
        footer = self.content.get("footer") if self.type == "interactive" else None
        return footer.get("text") if isinstance(footer, dict) else None

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """Reply buttons as ``(id, title)``."""
        if self.interactive_type != "button":
            return []
        return [
            (b["reply"]["id"], b["reply"]["title"])
            for b in self.content.get("action", {}).get("buttons", [])
        ]

    @property
    def rows(self) -> list[tuple[str, str, str | None]]:
        """List rows of all sections as ``(id, title, description)``."""
        if self.interactive_type != "list":
            return []
        return [
            (row["id"], row["title"], row.get("description"))
            for section in self.content.get("action", {}).get("sections", [])
            for row in section.get("rows", [])
        ]

    @property
    def sections(self) -> list[tuple[str | None, list[tuple[str, str, str | None]]]]:
        if self.interactive_type != "list":
            return []
        return [
            (
                section.get("title"),
                [(r["id"], r["title"], r.get("description")) for r in section.get("rows", [])],
            )
            for section in self.content.get("action", {}).get("sections", [])
        ]

    @property
    def list_button(self) -> str | None:
        if self.interactive_type != "list":
            return None
        button = self.content.get("action", {}).get("button")
        return None if button is None else str(button)

    @property
    def titles(self) -> list[str]:
        """The titles of the reply buttons or the list rows, in order."""
        return [t for _, t in self.buttons] + [t for _, t, _ in self.rows]

    @property
    def url_button(self) -> tuple[str, str] | None:
        """``(display_text, url)`` of a cta_url message."""
        if self.interactive_type != "cta_url":
            return None
        params = self.content.get("action", {}).get("parameters", {})
        return params.get("display_text"), params.get("url")

    @property
    def template_name(self) -> str | None:
        return self.content.get("name") if self.type == "template" else None

    @property
    def template_language(self) -> str | None:
        if self.type != "template":
            return None
        return (self.content.get("language") or {}).get("code")

    @property
    def template_params(self) -> list[str]:
        """The body parameters of a template, as text (fallback values for currency/date)."""
        if self.type != "template":
            return []
        return [param_text(p) for p in body_parameters(self.content)]

    @property
    def media_id(self) -> str | None:
        return self.content.get("id") if self.type in MEDIA_MESSAGE_TYPES else None

    @property
    def link(self) -> str | None:
        return self.content.get("link") if self.type in MEDIA_MESSAGE_TYPES else None

    @property
    def filename(self) -> str | None:
        return self.content.get("filename") if self.type == "document" else None

    @property
    def location(self) -> tuple[float, float] | None:
        if self.type != "location":
            return None
        return float(self.content["latitude"]), float(self.content["longitude"])

    @property
    def context_message_id(self) -> str | None:
        context = self.payload.get("context")
        return context.get("message_id") if isinstance(context, dict) else None

    @property
    def tracker(self) -> str | None:
        """``biz_opaque_callback_data``, echoed in this message's status callbacks."""
        return self.payload.get("biz_opaque_callback_data")

    @property
    def error_code(self) -> int | None:
        return self.errors[0]["code"] if self.errors else None

    @property
    def free_form(self) -> bool:
        return self.type != "template"


@dataclass
class StoredMedia:
    """A media object the API holds: uploaded by the business or received from a user."""

    id: str
    data: bytes = field(repr=False)
    mime_type: str
    origin: Literal["upload", "inbound"]
    filename: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Template:
    """An approved message template: its name, language, category and body text."""

    name: str
    language: str = "fr"
    category: Literal["UTILITY", "MARKETING", "AUTHENTICATION"] = "UTILITY"
    body: str | None = None
    """Body with ``{{1}}``/``{{name}}`` placeholders; None: parameters are not counted."""

    @property
    def placeholders(self) -> list[str]:
        return [] if self.body is None else PLACEHOLDER.findall(self.body)


@dataclass
class UserState:
    wa_id: str
    name: str
    bsuid: str
    last_inbound: float | None = None
    undeliverable: bool = False

    @property
    def country(self) -> str:
        return self.bsuid.split(".", 1)[0]


@dataclass
class GraphFault:
    kind: Literal["error", "timeout", "status"]
    remaining: int
    operation: str | None
    code: int = 131000
    status: int = 500
    message: str | None = None
    details: str | None = None
    applied: bool = False

    def matches(self, operation: str) -> bool:
        return self.operation is None or self.operation == operation


class GraphError(Exception):
    def __init__(self, status: int, error: JSON, *, rejection: bool = False) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error
        self.rejection = rejection


PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def param_text(param: object) -> str:
    if not isinstance(param, dict):
        return str(param)
    kind = param.get("type", "text")
    if kind == "text":
        return str(param.get("text", ""))
    value = param.get(kind)
    if isinstance(value, dict) and "fallback_value" in value:
        return str(value["fallback_value"])
    return json.dumps(value, sort_keys=True)


def body_parameters(template: JSON) -> list[Any]:
    for component in template.get("components") or []:
        if isinstance(component, dict) and str(component.get("type", "")).lower() == "body":
            params = component.get("parameters") or []
            return list(params) if isinstance(params, list) else []
    return []


def digits(value: object) -> str:
    return re.sub(r"\D", "", str(value))


def epoch(at: float | datetime | None, default: Callable[[], float]) -> float:
    if at is None:
        return default()
    if isinstance(at, datetime):
        return at.timestamp()
    return float(at)

