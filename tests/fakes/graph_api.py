"""An in-process fake of the WhatsApp Cloud API (Meta's Graph API), for tests and benchmarks,
and builders of the webhook payloads Meta posts to a business.

The channel talks to it through an ``httpx`` transport, so nothing touches the network; any
base URL works (``https://graph.facebook.com/v21.0``, pywa's ``/v26.0``, a proxy's)::

    api = FakeGraphAPI()
    client = httpx.AsyncClient(transport=api.transport(), base_url=GRAPH_URL + "/v21.0",
                               headers={"Authorization": f"Bearer {api.token}"})  # or api.client()
    payload = api.text("33612345678", "Marie", "Bonjour")    # opens Marie's 24-hour window
    body, headers = api.signed(payload, APP_SECRET)          # what Meta POSTs to the webhook
    ...                                                      # the channel answers through client
    await api.wait_for(lambda: api.messages_to("33612345678"))
    assert api.last("33612345678").buttons == [("p_12", "Réserver")]

What the fake does, like the Cloud API does it:

* ``POST /{phone_number_id}/messages`` for text, image, document, audio, video, sticker (media by
  ``id`` or ``link``), interactive (reply ``button``, ``list``, ``cta_url``), location, contacts,
  reaction and template messages, answered ``{"messaging_product", "contacts": [{"input",
  "wa_id"}], "messages": [{"id": "wamid..."}]}``; the same path with ``status: "read"`` marks an
  inbound message as read (``{"success": true}``); ``POST /{phone_number_id}/media`` (multipart)
  uploads, ``GET /{media_id}`` gives a ``lookaside.fbsbx.com`` URL valid 5 minutes, which the
  same transport serves to a caller with the token; ``DELETE /{media_id}``. Media sent by id
  must have been uploaded by the business (a user's media id is for downloading: re-upload it)
  and be of a type the message type takes.
* errors in Graph's shape ``{"error": {"message": "(#code) ...", "type": "OAuthException",
  "code", "error_data": {"messaging_product": "whatsapp", "details"}, "fbtrace_id"}}``: 401/190
  for a missing or wrong token, 400/100 for missing or malformed parameters (subcode 33 for an
  unknown object), 400/131009 for WhatsApp's limits: reply buttons 1-3 with unique ids
  (1-256 characters, no surrounding spaces) and unique titles (1-20), list messages with a
  button text of 1-20, 1-10 sections (titled, <= 24, when more than one), 1-10 rows in total
  with unique ids (<= 200), titles 1-24 and descriptions <= 72, header and footer <= 60, body
  <= 1024 (buttons, cta_url) or <= 4096 (lists, as Meta's current reference says); text 1-4096;
  captions <= 1024; uploads of Meta's supported types and sizes only (CSV is not one of them:
  Meta takes ``text/plain``); template names, languages and parameter counts (132001, 132000) and
  parameters without new lines, tabs or 5 spaces in a row (132018) when templates are registered.
  The details quoted from Meta's answers seen in the wild are "Button title length invalid. Min
  length: 1, Max length: 20", "Invalid buttons count. Min allowed buttons: 1, Max allowed
  buttons: 3", "Total row count exceed max allowed count: 10", "Row title is too long. Max length
  is 24", "Row description is too long. Max length is 72"; the others are written alike.
* **the 24-hour customer-service window**: every inbound message (the builders below, or
  :meth:`FakeGraphAPI.user_wrote`) opens it; a free-form message (anything but a template) sent
  outside it is *accepted* (200 and a wamid, as Meta does) but never delivered: it is recorded as
  failed and a ``failed`` status callback with error 131047 "Re-engagement message" is queued
  (:meth:`FakeGraphAPI.pending_statuses`). Templates are delivered at any time.
* throughput: at most ``per_second`` messages in any one-second window (80 by default, Meta's
  default per number), optionally ``pair_limit`` messages to one user; over it, 130429 "Rate
  limit hit" (HTTP 400 like Meta, or ``rate_limit_status``) or 131056 "pair rate limit hit", and
  the message is not sent (:attr:`FakeGraphAPI.rejections`).
* faults on demand: :meth:`~FakeGraphAPI.fail_next` (a Meta code such as 131056, 130429, 131000,
  or an HTTP status 429/500/502/503/504; or, ``via_status=True``, accepted then failed by a status
  callback), :meth:`~FakeGraphAPI.timeout_next` (``httpx.ReadTimeout``, possibly after the
  message went out), :meth:`~FakeGraphAPI.go_down` (``httpx.ConnectError``), users who left
  WhatsApp (:meth:`~FakeGraphAPI.undeliverable`: failed status 131026).

Webhook payloads are built in Meta's documented format (``{"object": "whatsapp_business_account",
"entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {...}}]}]}``), with unique
``wamid.`` ids, timestamps as strings of epoch seconds and, as in 2026, business-scoped user ids
(``user_id``, ``from_user_id``; ``bsuids=False`` for the older format), and encoded like Meta
encodes them (ASCII only and ``/`` escaped as ``\\/``), so a webhook that re-serialises the JSON
before checking ``X-Hub-Signature-256`` fails as it would in production. Failed statuses carry no
``contacts`` array, as Meta documents.

What it does not do: sending to a business-scoped user id (``recipient``), groups, usernames,
flows, catalogues and products, calls, template management, media headers of templates, the
fetching of media ``link`` URLs, pricing beyond a plausible ``pricing`` object, and every endpoint
it does not list (answered 400/100 subcode 33 like an unknown object).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode

import httpx

from tests.fakes.changes import Changes

__all__ = [
    "API_VERSION",
    "DISPLAY_PHONE_NUMBER",
    "PHONE_NUMBER_ID",
    "TINY_PNG",
    "TOKEN",
    "WABA_ID",
    "WINDOW_SECONDS",
    "FakeGraphAPI",
    "GraphCall",
    "GraphTransport",
    "ManualTime",
    "OutboundMessage",
    "StoredMedia",
    "Template",
]

JSON = dict[str, Any]

API_VERSION = "v21.0"
GRAPH_URL = "https://graph.facebook.com"
LOOKASIDE_HOST = "lookaside.fbsbx.com"
TOKEN = "EAAchatshopTESTtoken"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_PHONE_NUMBER = "33977553311"
WABA_ID = "102290129340398"
ERROR_CODES_URL = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

WINDOW_SECONDS = 24 * 3600
MEDIA_URL_TTL = 300.0

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_BUTTON_BODY = 1024
MAX_LIST_BODY = 4096
MAX_LIST_BUTTON = 20
MAX_SECTIONS = 10
MAX_SECTION_TITLE = 24
MAX_ROWS = 10
MAX_ROW_ID = 200
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_HEADER = 60
MAX_FOOTER = 60

#: Media types and sizes Meta accepts for upload, by message type.
MEDIA_TYPES: dict[str, tuple[frozenset[str], int]] = {
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * 1024 * 1024),
    "document": (
        frozenset(
            {
                "text/plain",
                "application/pdf",
                "application/msword",
                "application/vnd.ms-excel",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            }
        ),
        100 * 1024 * 1024,
    ),
    "audio": (
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * 1024 * 1024,
    ),
    "video": (frozenset({"video/3gpp", "video/mp4"}), 16 * 1024 * 1024),
    "sticker": (frozenset({"image/webp"}), 500 * 1024),
}
MEDIA_MESSAGE_TYPES = tuple(MEDIA_TYPES)
FREE_FORM_TYPES = (*MEDIA_MESSAGE_TYPES, "text", "interactive", "location", "contacts", "reaction")

#: A valid 1x1 PNG, for tests that upload or receive a photo.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e5d1d2fd0000000049454e44ae426082"
)
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")

#: Meta's codes: title (the part after "(#code) " in a response), details, HTTP status.
META_ERRORS: dict[int, tuple[str, str, int]] = {
    1: ("An unknown error occurred", "Invalid request or possible server error.", 400),
    2: (
        "Service temporarily unavailable",
        "Temporary due to downtime or due to being overloaded.",
        503,
    ),
    4: ("Application request limit reached", "The app has reached its API call rate limit.", 400),
    100: ("Invalid parameter", "Invalid parameter.", 400),
    190: ("Invalid OAuth access token - Cannot parse access token", "", 401),
    80007: ("Rate limit issues", "The WhatsApp Business Account has reached its rate limit.", 400),
    130429: ("Rate limit hit", "Cloud API message throughput has been reached.", 400),
    131000: ("Something went wrong", "Message failed to send due to an unknown error.", 500),
    131008: ("Required parameter is missing", "A required parameter is missing.", 400),
    131009: ("Parameter value is not valid", "One or more parameter values are invalid.", 400),
    131026: ("Message undeliverable", "Message Undeliverable.", 400),
    131047: (
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last"
        " replied to this number.",
        400,
    ),
    131048: (
        "Spam rate limit hit",
        "Message failed to send because there are restrictions on how many messages can be sent"
        " from this phone number.",
        400,
    ),
    131049: (
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
        400,
    ),
    131050: (
        "Unable to deliver the message. This recipient has chosen to stop receiving marketing"
        " messages on WhatsApp from your business.",
        "The recipient has stopped marketing messages from this business.",
        400,
    ),
    131053: ("Media upload error", "Unable to upload the media used in the message.", 400),
    131056: (
        "(Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number"
        " to the same phone number in a short period of time.",
        400,
    ),
    132000: (
        "Number of parameters does not match the expected number of params",
        "The number of variable parameter values does not match the template.",
        400,
    ),
    132001: (
        "Template name does not exist in the translation",
        "The template does not exist in the specified language.",
        400,
    ),
    132018: (
        "There was an issue with the parameters in your template.",
        "Param text cannot have new-line/tab characters or more than 4 consecutive spaces.",
        400,
    ),
}
#: Calling codes -> ISO country, for the BSUIDs of test users (longest prefixes first).
_COUNTRIES = (
    ("262", "RE"), ("352", "LU"), ("590", "GP"), ("594", "GF"), ("596", "MQ"), ("687", "NC"),
    ("32", "BE"), ("33", "FR"), ("34", "ES"), ("39", "IT"), ("41", "CH"), ("44", "GB"),
    ("49", "DE"), ("1", "US"),
)  # fmt: skip
_HTTP_FAULTS = {429: 130429, 500: 131000, 502: 131000, 503: 2, 504: 131000}

Operation = Literal[
    "send", "mark_read", "upload", "media_url", "download", "delete_media", "unknown"
]


class ManualTime:
    """A time source that only moves when told to (``clock=`` or ``wall_clock=``)."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


# --------------------------------------------------------------------------------------------
# What the fake records and what tests read


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
        return [_param_text(p) for p in _body_parameters(self.content)]

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
        return [] if self.body is None else _PLACEHOLDER.findall(self.body)


@dataclass
class _User:
    wa_id: str
    name: str
    bsuid: str
    last_inbound: float | None = None
    undeliverable: bool = False

    @property
    def country(self) -> str:
        return self.bsuid.split(".", 1)[0]


@dataclass
class _Fault:
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


class _GraphError(Exception):
    def __init__(self, status: int, error: JSON, *, rejection: bool = False) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error
        self.rejection = rejection


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def _param_text(param: object) -> str:
    if not isinstance(param, dict):
        return str(param)
    kind = param.get("type", "text")
    if kind == "text":
        return str(param.get("text", ""))
    value = param.get(kind)
    if isinstance(value, dict) and "fallback_value" in value:
        return str(value["fallback_value"])
    return json.dumps(value, sort_keys=True)


def _body_parameters(template: JSON) -> list[Any]:
    for component in template.get("components") or []:
        if isinstance(component, dict) and str(component.get("type", "")).lower() == "body":
            params = component.get("parameters") or []
            return list(params) if isinstance(params, list) else []
    return []


def _copy(value: Any) -> Any:
    """A deep copy of JSON data."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _digits(value: object) -> str:
    return re.sub(r"\D", "", str(value))


def _epoch(at: float | datetime | None, default: Callable[[], float]) -> float:
    if at is None:
        return default()
    if isinstance(at, datetime):
        return at.timestamp()
    return float(at)


# --------------------------------------------------------------------------------------------
# The HTTP layer


class GraphTransport(httpx.MockTransport):
    """An ``httpx.MockTransport`` answering with a :class:`FakeGraphAPI`; works with
    ``httpx.AsyncClient`` (yielding to the event loop, plus the API's latency) and
    ``httpx.Client``."""

    def __init__(self, api: FakeGraphAPI) -> None:
        super().__init__(api.handle)
        self.api = api

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        await asyncio.sleep(self.api.latency if self.api.latency > 0 else 0)
        return self.api.handle(request)


# --------------------------------------------------------------------------------------------
# The fake Graph API


class FakeGraphAPI:
    """The state of a fake WhatsApp Cloud API: one business phone number, its users and their
    24-hour windows, the messages sent (delivered or failed), media, queued status callbacks,
    every request received, and the faults to inject."""

    def __init__(
        self,
        *,
        token: str | None = TOKEN,
        phone_number_id: str = PHONE_NUMBER_ID,
        display_phone_number: str = DISPLAY_PHONE_NUMBER,
        waba_id: str = WABA_ID,
        per_second: int | None = 80,
        pair_limit: tuple[int, float] | None = None,
        rate_limit_status: int = 400,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float | datetime] = time.time,
        latency: float = 0.0,
        report_delivery: bool = False,
        templates: Iterable[Template] = (),
        bsuids: bool = True,
    ) -> None:
        """``token``: the only access token accepted (None: any non-empty one).
        ``per_second``: messages accepted in any one-second window (None: unlimited);
        ``pair_limit``: ``(n, seconds)``, at most n messages to one user in that many seconds.
        ``clock`` times calls and rate limits; ``wall_clock`` (unix seconds, or aware datetimes
        like the services' clock) dates messages and runs the 24-hour windows and the expiry of
        media URLs.
        ``report_delivery``: also queue ``sent`` and ``delivered`` statuses of delivered messages.
        ``templates``: when any is registered, templates sent must be registered (132001) and
        carry as many body parameters as the registered body has placeholders (132000).
        ``bsuids``: payloads carry business-scoped user ids (``contacts[].user_id``,
        ``messages[].from_user_id``, ``statuses[].recipient_user_id`` and a ``contacts`` array
        on sent/delivered/read statuses) as Meta documents them from 2026; False: the format
        from before."""
        self.token = token
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.waba_id = waba_id
        self.per_second = per_second
        self.pair_limit = pair_limit
        self.rate_limit_status = rate_limit_status
        self.clock = clock
        self.wall_clock = wall_clock
        self.latency = latency
        self.report_delivery = report_delivery
        self.bsuids = bsuids
        self.templates: dict[tuple[str, str], Template] = {}
        for template in templates:
            self.add_template(template)
        self.sent: list[GraphCall] = []
        """Every request received, in order (sends, uploads, downloads, refused ones...)."""
        self.rejections: list[GraphCall] = []
        """Requests refused by the fake's checks: WhatsApp's limits, malformed requests, rates."""
        self.messages: list[OutboundMessage] = []
        """Every message accepted (200), delivered or failed, in order."""
        self.media: dict[str, StoredMedia] = {}
        self.read_receipts: list[str] = []
        """Inbound message ids the business marked as read, in order."""
        self.inbound: list[JSON] = []
        """Every message object built for a webhook, in order."""
        self._users: dict[str, _User] = {}
        self._statuses: list[JSON] = []
        self._media_urls: dict[str, tuple[str, float]] = {}
        self._faults: list[_Fault] = []
        self._down = False
        self._window: deque[float] = deque()
        self._pair_windows: dict[str, deque[float]] = {}
        self._ids = itertools.count(1)
        self._changes = Changes()

    # ---------------------------------------------------------------- wiring

    def now(self) -> float:
        """The wall clock, in unix seconds."""
        value = self.wall_clock()
        return value.timestamp() if isinstance(value, datetime) else float(value)

    @property
    def calls(self) -> list[GraphCall]:
        """Alias of :attr:`sent`."""
        return self.sent

    def transport(self) -> GraphTransport:
        """A transport for ``httpx.AsyncClient(transport=..., base_url=...)`` (or
        ``httpx.Client``)."""
        return GraphTransport(self)

    def client(self, *, version: str = API_VERSION, token: str | None = None) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` on this API with the base URL and the Bearer token set."""
        return httpx.AsyncClient(
            transport=self.transport(),
            base_url=f"{GRAPH_URL}/{version}",
            headers={"Authorization": f"Bearer {token or self.token or TOKEN}"},
        )

    def add_template(self, template: Template | str, language: str = "fr", **kwargs: Any) -> None:
        """Register an approved template (``add_template("rappel", body="... {{1}} ...")``)."""
        if isinstance(template, str):
            template = Template(template, language, **kwargs)
        self.templates[(template.name, template.language)] = template

    # ---------------------------------------------------------------- faults

    def fail_next(
        self,
        code: int = 131000,
        times: int = 1,
        *,
        operation: str | None = "send",
        status: int | None = None,
        message: str | None = None,
        details: str | None = None,
        via_status: bool = False,
    ) -> None:
        """The next ``times`` requests of ``operation`` ("send", "mark_read", "upload",
        "media_url", "download", "delete_media"; None: any) fail and are not applied.

        ``code`` is a Meta error code (131056, 130429, 131000, 4, 80007, 131048...: answered with
        Meta's HTTP status, 400 mostly) or an HTTP status (429 -> 130429, 500 -> 131000,
        503 -> 2 with JSON bodies; 502 and 504 answer a bare text body like a failing gateway).
        ``via_status=True`` (sends only): the message is accepted with a wamid, then fails with a
        ``failed`` status callback carrying ``code`` (131026, 131049, 131050, 131053...)."""
        if code in _HTTP_FAULTS:
            http_status, meta_code = code, _HTTP_FAULTS[code]
        else:
            http_status, meta_code = META_ERRORS.get(code, ("", "", 400))[2], code
        self._faults.append(
            _Fault(
                "status" if via_status else "error",
                times,
                "send" if via_status else operation,
                code=meta_code,
                status=status or http_status,
                message=message,
                details=details,
            )
        )

    def timeout_next(
        self, times: int = 1, *, operation: str | None = "send", applied: bool = False
    ) -> None:
        """The next ``times`` requests of ``operation`` raise ``httpx.ReadTimeout``.
        ``applied=True``: the request is carried out before the answer is lost (the message
        *was* sent: a retry sends it twice)."""
        self._faults.append(_Fault("timeout", times, operation, applied=applied))

    def go_down(self) -> None:
        """An outage: every request raises ``httpx.ConnectError`` until :meth:`come_back`."""
        self._down = True
        self._notify()

    def come_back(self) -> None:
        self._down = False
        self._notify()

    @property
    def is_down(self) -> bool:
        return self._down

    def undeliverable(self, wa_id: str, value: bool = True) -> None:
        """Messages to this user are accepted, then fail with status 131026 (not on WhatsApp
        any more, old app version, ...)."""
        self._user(wa_id).undeliverable = value

    # ---------------------------------------------------------------- users and the window

    def user(self, wa_id: str, name: str = "Marie") -> str:
        """Register a user's profile name (used when a builder gets ``name=None``); returns the
        wa_id (digits only)."""
        user = self._user(wa_id)
        user.name = name
        return user.wa_id

    def user_wrote(self, wa_id: str, at: float | datetime | None = None) -> None:
        """The user wrote at ``at`` (unix seconds or datetime; default: now): their 24-hour
        customer-service window runs from then."""
        user = self._user(wa_id)
        moment = _epoch(at, self.now)
        if user.last_inbound is None or moment > user.last_inbound:
            user.last_inbound = moment

    def last_inbound(self, wa_id: str) -> float | None:
        user = self._users.get(_digits(wa_id))
        return None if user is None else user.last_inbound

    def in_window(self, wa_id: str, at: float | None = None) -> bool:
        """Whether a free-form message to this user would be delivered now (or at ``at``)."""
        last = self.last_inbound(wa_id)
        now = self.now() if at is None else at
        return last is not None and 0 <= now - last < WINDOW_SECONDS

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
        if _digits(phone):
            phone_entry["wa_id"] = _digits(phone)
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
        when = _epoch(at, self.now)
        return self._status_payload(message, message_id, status, recipient, errors, when)

    def pending_statuses(self) -> list[JSON]:
        """Status payloads the fake generated itself (failures; with ``report_delivery``, sent
        and delivered too), oldest first, not yet taken."""
        return [_copy(payload) for payload in self._statuses]

    def take_statuses(self) -> list[JSON]:
        """Like :meth:`pending_statuses`, and forget them (to post each once)."""
        taken, self._statuses = self._statuses, []
        return taken

    @staticmethod
    def combine(*payloads: JSON) -> JSON:
        """Several webhook payloads batched in one delivery, as Meta sometimes does."""
        entries = [entry for payload in payloads for entry in payload["entry"]]
        return {"object": "whatsapp_business_account", "entry": _copy(entries)}

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

    # ---------------------------------------------------------------- what users see

    def messages_to(self, wa_id: str) -> list[OutboundMessage]:
        """Messages delivered to this user (read ones included), oldest first."""
        key = _digits(wa_id)
        return [m for m in self.messages if m.to == key and m.status != "failed"]

    def failed_to(self, wa_id: str) -> list[OutboundMessage]:
        """Messages to this user accepted by the API but never delivered (131047, 131026...)."""
        key = _digits(wa_id)
        return [m for m in self.messages if m.to == key and m.status == "failed"]

    def last(self, wa_id: str) -> OutboundMessage:
        """The last message delivered to this user."""
        delivered = self.messages_to(wa_id)
        if not delivered:
            failed = [(m.type, m.error_code) for m in self.failed_to(wa_id)]
            raise AssertionError(f"nothing delivered to {wa_id} (failed: {failed})")
        return delivered[-1]

    def find(self, message_id: str) -> OutboundMessage | None:
        for message in self.messages:
            if message.id == message_id:
                return message
        return None

    def calls_to(self, operation: str) -> list[GraphCall]:
        return [c for c in self.sent if c.operation == operation]

    def media_bytes(self, media_id: str) -> bytes:
        return self.media[media_id].data

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline, not a cancellation scope
    ) -> Any:
        """Wait until ``predicate()`` is truthy and return its value. Re-checked after every
        request the fake receives, every payload built, and every 20 ms (for state outside the
        fake). A predicate that raises counts as false; on timeout its last error is raised."""
        return await self._changes.until(predicate, timeout, lambda: "last requests: " + ", ".join(
                f"{c.method} {c.path}:{c.status or c.outcome}" for c in self.sent[-8:]))

    # ---------------------------------------------------------------- serving requests

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one HTTP request as the Graph API would (the handler of the transport)."""
        version, path, operation = self._route(request)
        call = GraphCall(
            method=request.method,
            url=str(request.url),
            path=path,
            operation=operation,
            at=self.clock(),
            version=version,
            token=_token(request),
        )
        self.sent.append(call)
        try:
            if self._down:
                call.outcome = "network"
                raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
            self._parse_body(call, request)
            fault = self._take_fault(operation)
            if fault is not None and fault.kind == "timeout" and not fault.applied:
                call.outcome = "timeout"
                raise httpx.ReadTimeout("The read operation timed out", request=request)
            if fault is not None and fault.kind == "error":
                return self._fault_response(call, fault)
            self._authorize(call)
            if operation == "download":
                return self._download(call, request)
            result = self._dispatch(call, request, fault)
            if fault is not None and fault.kind == "timeout":
                call.outcome, call.response = "timeout", result
                raise httpx.ReadTimeout("The read operation timed out", request=request)
            call.status, call.outcome, call.response = 200, "ok", result
            return _json_response(200, result)
        except _GraphError as error:
            call.status, call.outcome, call.error = error.status, "error", error.error
            if error.rejection:
                self.rejections.append(call)
            return _json_response(error.status, {"error": error.error})
        except httpx.TimeoutException:
            call.outcome = "timeout"
            raise
        except httpx.TransportError:
            call.outcome = "network"
            raise
        finally:
            self._notify()

    def _route(self, request: httpx.Request) -> tuple[str | None, str, Operation]:
        url = request.url
        if url.host == LOOKASIDE_HOST:
            return None, url.path, "download"
        match = re.match(r"^/(v\d+(?:\.\d+)?)(/.*)?$", url.path)
        version, path = (match.group(1), match.group(2) or "/") if match else (None, url.path)
        parts = [p for p in path.split("/") if p]
        method = request.method.upper()
        operation: Operation = "unknown"
        if method == "POST" and len(parts) == 2 and parts[1] == "messages":
            operation = "send"
            if b'"status"' in request.content:
                body = _loads(request.content)
                if isinstance(body, dict) and "status" in body:
                    operation = "mark_read"
        elif method == "POST" and len(parts) == 2 and parts[1] == "media":
            operation = "upload"
        elif method == "GET" and len(parts) == 1:
            operation = "media_url"
        elif method == "DELETE" and len(parts) == 1:
            operation = "delete_media"
        return version, path, operation

    def _parse_body(self, call: GraphCall, request: httpx.Request) -> None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            call.form, call.files = _parse_multipart(content_type, request.content)
        elif request.content:
            call.json = _loads(request.content)
        if request.url.query:
            call.form.update(
                {k: v[-1] for k, v in parse_qs(request.url.query.decode("ascii")).items()}
            )

    def _authorize(self, call: GraphCall) -> None:
        if not call.token:
            raise _GraphError(
                401,
                self._error(190, "An access token is required to request this resource."),
            )
        if self.token is not None and call.token != self.token:
            raise _GraphError(
                401, self._error(190, "Invalid OAuth access token - Cannot parse access token")
            )

    def _dispatch(self, call: GraphCall, request: httpx.Request, fault: _Fault | None) -> Any:
        parts = [p for p in call.path.split("/") if p]
        if call.operation in ("send", "mark_read", "upload"):
            if parts[0] != self.phone_number_id:
                raise _GraphError(400, self._unknown_object("post", parts[0]))
            if call.operation == "send":
                return self._send(call, fault)
            if call.operation == "mark_read":
                return self._mark_read(call)
            return self._upload(call)
        if call.operation == "media_url":
            return self._media_url(call, parts[0])
        if call.operation == "delete_media":
            if parts[0] not in self.media:
                raise _GraphError(400, self._unknown_object("delete", parts[0]))
            del self.media[parts[0]]
            return {"success": True}
        raise _GraphError(400, self._unknown_object(request.method.lower(), call.path.strip("/")))

    # ---------------------------------------------------------------- sending

    def _send(self, call: GraphCall, fault: _Fault | None) -> JSON:
        body = call.json
        if not isinstance(body, dict):
            raise self._invalid(100, "Invalid parameter", "Request body must be a JSON object")
        if body.get("messaging_product") != "whatsapp":
            if "messaging_product" not in body:
                raise self._invalid(100, "The parameter messaging_product is required.")
            raise self._invalid(
                100,
                "Param messaging_product must be one of {WHATSAPP} -"
                f' got "{body["messaging_product"]}".',
            )
        if body.get("recipient_type", "individual") != "individual":
            raise self._invalid(100, "Invalid parameter", "the fake only sends to individuals")
        if not body.get("to"):
            raise self._invalid(100, "The parameter to is required.")
        wa_id = _digits(body["to"])
        if not 8 <= len(wa_id) <= 15:
            raise self._invalid(100, "Invalid parameter", f"Invalid phone number: {body['to']}")
        kind = body.get("type", "text")
        rendered = self._check_message(kind, body)
        self._check_rate(call, wa_id)
        message = OutboundMessage(
            id=self._wamid(wa_id),
            to=wa_id,
            type=kind,
            payload=_copy(body),
            at=self.now(),
            rendered=rendered,
        )
        failure = self._delivery_failure(message, fault)
        if failure is not None:
            message.status = "failed"
            message.errors = [_status_error(failure)]
            self._statuses.append(
                self._status_payload(
                    message, message.id, "failed", wa_id, message.errors, message.at
                )
            )
        elif self.report_delivery:
            for status in ("sent", "delivered"):
                self._statuses.append(
                    self._status_payload(message, message.id, status, wa_id, None, message.at)
                )
        self.messages.append(message)
        call.message = message
        sent: JSON = {"id": message.id}
        if kind == "template":
            sent["message_status"] = "accepted"
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": str(body["to"]), "wa_id": wa_id}],
            "messages": [sent],
        }

    def _delivery_failure(self, message: OutboundMessage, fault: _Fault | None) -> int | None:
        if fault is not None and fault.kind == "status":
            return fault.code
        user = self._users.get(message.to)
        if user is not None and user.undeliverable:
            return 131026
        if message.free_form and not self.in_window(message.to, message.at):
            return 131047
        return None

    def _check_message(self, kind: str, body: JSON) -> str | None:
        if kind not in (*FREE_FORM_TYPES, "template"):
            raise self._invalid(
                100,
                "Param type must be one of {AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE,"
                f' LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO}} - got "{kind}".',
            )
        content = body.get(kind)
        if content is None:
            raise self._invalid(100, f"The parameter {kind} is required.")
        if kind == "contacts":
            if not isinstance(content, list) or not content:
                raise self._invalid(100, "Param contacts must be a non-empty array")
            for card in content:
                card_name = card.get("name") if isinstance(card, dict) else None
                if not isinstance(card_name, dict) or not card_name.get("formatted_name"):
                    raise self._invalid(
                        131008,
                        META_ERRORS[131008][0],
                        "contacts[].name.formatted_name is required",
                    )
            return None
        if not isinstance(content, dict):
            raise self._invalid(100, f"Param {kind} must be a JSON object")
        if kind == "text":
            text = content.get("body")
            if not isinstance(text, str) or not text.strip():
                raise self._invalid(100, "The parameter text['body'] is required.")
            if len(text) > MAX_TEXT:
                raise self._invalid(
                    100, f"Param text['body'] must be at most {MAX_TEXT} characters long."
                )
        elif kind in MEDIA_MESSAGE_TYPES:
            self._check_media(kind, content)
        elif kind == "interactive":
            self._check_interactive(content)
        elif kind == "location":
            self._check_location(content)
        elif kind == "reaction":
            if not content.get("message_id"):
                raise self._invalid(100, "The parameter reaction['message_id'] is required.")
        elif kind == "template":
            return self._check_template(content)
        return None

    def _check_media(self, kind: str, content: JSON) -> None:
        has_id, has_link = bool(content.get("id")), bool(content.get("link"))
        if has_id == has_link:
            raise self._invalid(
                131008 if not has_id else 131009,
                "Required parameter is missing" if not has_id else "Parameter value is not valid",
                f"{kind} must have either an id or a link, not both",
            )
        if has_id:
            media = self.media.get(str(content["id"]))
            if media is None or media.origin != "upload":
                raise self._invalid(
                    100,
                    "Invalid parameter",
                    f"Param {kind}['id'] is not a valid whatsapp business account media"
                    " attachment ID",
                )
            allowed, _ = MEDIA_TYPES[kind]
            if media.mime_type not in allowed:
                raise self._invalid(
                    131053,
                    "Media upload error",
                    f"media of type {media.mime_type} cannot be sent as {kind}",
                )
        elif not re.match(r"https?://[^\s/]+\.[^\s]+", str(content["link"])):
            raise self._invalid(131009, "Parameter value is not valid", "Invalid media link")
        caption = content.get("caption")
        if caption is not None:
            if kind not in ("image", "document", "video"):
                raise self._invalid(100, f"Param {kind}['caption'] is not allowed")
            if len(str(caption)) > MAX_CAPTION:
                raise self._invalid(
                    100, f"Param {kind}['caption'] must be at most {MAX_CAPTION} characters long."
                )

    def _check_interactive(self, content: JSON) -> None:
        kind = content.get("type")
        if kind not in ("button", "list", "cta_url"):
            raise self._invalid(
                100,
                "Invalid parameter",
                f"the fake Graph API does not implement interactive type {kind!r}",
            )
        action = content.get("action")
        if not isinstance(action, dict):
            raise self._invalid(100, "The parameter interactive['action'] is required.")
        body = (content.get("body") or {}).get("text")
        limit = MAX_LIST_BODY if kind == "list" else MAX_BUTTON_BODY
        optional = kind == "cta_url" and "body" not in content
        if not optional and (not isinstance(body, str) or not 1 <= len(body) <= limit):
            if body is None:
                raise self._invalid(100, "The parameter interactive['body']['text'] is required.")
            raise self._limit(f"Body text length invalid. Min length: 1, Max length: {limit}")
        self._check_header_footer(content, text_header_only=kind != "button")
        if kind == "button":
            self._check_buttons(action.get("buttons"))
        elif kind == "list":
            self._check_list(action)
        else:
            params = action.get("parameters") or {}
            if action.get("name") != "cta_url":
                raise self._invalid(100, "Param interactive['action']['name'] must be cta_url")
            text = params.get("display_text")
            if not isinstance(text, str) or not 1 <= len(text) <= MAX_BUTTON_TITLE:
                raise self._limit(
                    f"Display text length invalid. Min length: 1, Max length: {MAX_BUTTON_TITLE}"
                )
            if not re.match(r"https?://\S+$", str(params.get("url", ""))):
                raise self._limit("Invalid URL")

    def _check_header_footer(self, content: JSON, *, text_header_only: bool) -> None:
        header = content.get("header")
        if header is not None:
            kind = header.get("type") if isinstance(header, dict) else None
            if kind == "text":
                text = header.get("text")
                if not isinstance(text, str) or not 1 <= len(text) <= MAX_HEADER:
                    raise self._limit(
                        f"Header text length invalid. Min length: 1, Max length: {MAX_HEADER}"
                    )
            elif kind in ("image", "video", "document") and not text_header_only:
                self._check_media(kind, header.get(kind) or {})
            else:
                raise self._limit(f"Header type {kind!r} is not supported for this message")
        footer = content.get("footer")
        if footer is not None:
            text = footer.get("text") if isinstance(footer, dict) else None
            if not isinstance(text, str) or not 1 <= len(text) <= MAX_FOOTER:
                raise self._limit(
                    f"Footer text length invalid. Min length: 1, Max length: {MAX_FOOTER}"
                )

    def _check_buttons(self, buttons: object) -> None:
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
            raise self._limit(
                f"Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: {MAX_BUTTONS}"
            )
        ids: set[str] = set()
        titles: set[str] = set()
        for button in buttons:
            reply = button.get("reply") if isinstance(button, dict) else None
            if button.get("type") != "reply" or not isinstance(reply, dict):
                raise self._invalid(
                    100, "Invalid parameter", "buttons must be of type reply with a reply object"
                )
            button_id, title = reply.get("id"), reply.get("title")
            if not isinstance(title, str) or not 1 <= len(title) <= MAX_BUTTON_TITLE:
                raise self._limit(
                    f"Button title length invalid. Min length: 1, Max length: {MAX_BUTTON_TITLE}"
                )
            if not isinstance(button_id, str) or not 1 <= len(button_id) <= MAX_BUTTON_ID:
                raise self._limit(
                    f"Button id length invalid. Min length: 1, Max length: {MAX_BUTTON_ID}"
                )
            if button_id != button_id.strip():
                raise self._limit("Button id cannot have leading or trailing spaces")
            if button_id in ids:
                raise self._limit(f"Button ids must be unique, duplicate: {button_id}")
            if title in titles:
                raise self._limit(f"Button titles must be unique, duplicate: {title}")
            ids.add(button_id)
            titles.add(title)

    def _check_list(self, action: JSON) -> None:
        button = action.get("button")
        if not isinstance(button, str) or not 1 <= len(button) <= MAX_LIST_BUTTON:
            raise self._limit(
                f"Button text length invalid. Min length: 1, Max length: {MAX_LIST_BUTTON}"
            )
        sections = action.get("sections")
        if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_SECTIONS:
            raise self._limit(
                f"Invalid sections count. Min allowed sections: 1, Max allowed sections:"
                f" {MAX_SECTIONS}"
            )
        rows = [row for s in sections if isinstance(s, dict) for row in s.get("rows") or []]
        if len(rows) > MAX_ROWS:
            raise self._limit(f"Total row count exceed max allowed count: {MAX_ROWS}")
        ids: set[str] = set()
        for section in sections:
            if not isinstance(section, dict):
                raise self._invalid(100, "Param sections[] must be JSON objects")
            title = section.get("title")
            if title is None and len(sections) > 1:
                raise self._limit("Section title is required when there is more than one section")
            if title is not None and (not isinstance(title, str) or len(title) > MAX_SECTION_TITLE):
                raise self._limit(f"Section title is too long. Max length is {MAX_SECTION_TITLE}")
            if not section.get("rows"):
                raise self._limit("Each section must have at least one row")
            for row in section["rows"]:
                row_id, row_title = row.get("id"), row.get("title")
                description = row.get("description")
                if not isinstance(row_title, str) or not row_title:
                    raise self._invalid(100, "The parameter rows[]['title'] is required.")
                if len(row_title) > MAX_ROW_TITLE:
                    raise self._limit(f"Row title is too long. Max length is {MAX_ROW_TITLE}")
                if description is not None and len(str(description)) > MAX_ROW_DESCRIPTION:
                    raise self._limit(
                        f"Row description is too long. Max length is {MAX_ROW_DESCRIPTION}"
                    )
                if not isinstance(row_id, str) or not 1 <= len(row_id) <= MAX_ROW_ID:
                    raise self._limit(
                        f"Row id length invalid. Min length: 1, Max length: {MAX_ROW_ID}"
                    )
                if row_id in ids:
                    raise self._limit(f"Row ids must be unique, duplicate: {row_id}")
                ids.add(row_id)

    def _check_location(self, content: JSON) -> None:
        for name, bound in (("latitude", 90.0), ("longitude", 180.0)):
            if name not in content:
                raise self._invalid(100, f"The parameter location['{name}'] is required.")
            try:
                value = float(content[name])
            except (TypeError, ValueError):
                raise self._invalid(100, f"Param location['{name}'] must be a number") from None
            if not math.isfinite(value) or not -bound <= value <= bound:
                raise self._invalid(131009, META_ERRORS[131009][0], f"Invalid {name}")

    def _check_template(self, content: JSON) -> str | None:
        name = content.get("name")
        language = (content.get("language") or {}).get("code")
        if not name:
            raise self._invalid(100, "The parameter template['name'] is required.")
        if not language:
            raise self._invalid(100, "The parameter template['language']['code'] is required.")
        params = _body_parameters(content)
        for param in params:
            text = _param_text(param)
            if re.search(r"[\n\t]| {5,}", text):
                raise self._invalid(
                    132018,
                    META_ERRORS[132018][0],
                    "Param text cannot have new-line/tab characters or more than 4 consecutive"
                    " spaces",
                )
        if not self.templates:
            return None
        template = self.templates.get((name, language))
        if template is None:
            raise self._invalid(
                132001,
                META_ERRORS[132001][0],
                f"template name ({name}) does not exist in {language}",
            )
        if template.body is None:
            return None
        expected = template.placeholders
        if len(params) != len(expected):
            raise self._invalid(
                132000,
                META_ERRORS[132000][0],
                f"body: number of localizable_params ({len(params)}) does not match the"
                f" expected number of params ({len(expected)})",
            )
        if all(p.isdigit() for p in expected):
            values = {str(i + 1): _param_text(p) for i, p in enumerate(params)}
        else:
            values = {
                str(p.get("parameter_name")): _param_text(p) for p in params if isinstance(p, dict)
            }
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template.body)

    def _check_rate(self, call: GraphCall, wa_id: str) -> None:
        now = self.clock()
        windows: list[tuple[deque[float], int, float, int]] = []
        if self.per_second is not None:
            windows.append((self._window, self.per_second, 1.0, 130429))
        if self.pair_limit is not None:
            count, seconds = self.pair_limit
            windows.append((self._pair_windows.setdefault(wa_id, deque()), count, seconds, 131056))
        for window, limit, seconds, code in windows:
            while window and window[0] <= now - seconds:
                window.popleft()
            if len(window) >= limit:
                status = self.rate_limit_status if code == 130429 else 400
                raise _GraphError(status, self._error(code), rejection=True)
        for window, *_ in windows:
            window.append(now)

    # ---------------------------------------------------------------- read receipts and media

    def _mark_read(self, call: GraphCall) -> JSON:
        body = call.json if isinstance(call.json, dict) else {}
        if body.get("messaging_product") != "whatsapp":
            raise self._invalid(100, "The parameter messaging_product is required.")
        if body.get("status") != "read":
            raise self._invalid(100, "Param status must be one of {READ}")
        message_id = body.get("message_id")
        if not message_id:
            raise self._invalid(100, "The parameter message_id is required.")
        if not any(m["id"] == message_id for m in self.inbound):
            raise self._invalid(100, "Invalid parameter", f"Unknown message id {message_id}")
        self.read_receipts.append(str(message_id))
        return {"success": True}

    def _upload(self, call: GraphCall) -> JSON:
        if call.form.get("messaging_product") != "whatsapp":
            raise self._invalid(100, "The parameter messaging_product is required.")
        if "file" not in call.files:
            raise self._invalid(100, "The parameter file is required.")
        filename, data, part_type = call.files["file"]
        mime_type = (call.form.get("type") or part_type or "").split(";")[0].strip()
        kind = next((k for k, (types, _) in MEDIA_TYPES.items() if mime_type in types), None)
        if kind is None:
            supported = ", ".join(sorted(t for types, _ in MEDIA_TYPES.values() for t in types))
            raise self._invalid(
                100,
                f"Param file must be a file with one of the following types: {supported}."
                f" Received file of type '{mime_type}'.",
            )
        if not data:
            raise self._invalid(131053, META_ERRORS[131053][0], "The uploaded file is empty")
        limit = MEDIA_TYPES[kind][1]
        if len(data) > limit:
            raise self._invalid(
                131053, META_ERRORS[131053][0], f"{kind} files are limited to {limit} bytes"
            )
        if kind == "image" and not data.startswith(_IMAGE_MAGIC):
            raise self._invalid(
                131053, META_ERRORS[131053][0], "The uploaded file is not a valid image"
            )
        media = self._store_media(data, mime_type, "upload", filename)
        return {"id": media.id}

    def _media_url(self, call: GraphCall, media_id: str) -> JSON:
        media = self.media.get(media_id)
        if media is None:
            raise _GraphError(400, self._unknown_object("get", media_id))
        wanted = call.form.get("phone_number_id")
        if wanted is not None and wanted != self.phone_number_id:
            raise self._invalid(100, "Invalid parameter", "phone_number_id does not match")
        issued = self.now()
        key = hashlib.sha256(f"{media_id}:{next(self._ids)}".encode()).hexdigest()[:24]
        url = f"https://{LOOKASIDE_HOST}/whatsapp_business/attachments/?" + urlencode(
            {"mid": media_id, "ext": int(issued), "hash": key}
        )
        self._media_urls[key] = (media_id, issued)
        return {
            "url": url,
            "mime_type": media.mime_type,
            "sha256": media.sha256,
            "file_size": len(media.data),
            "id": media.id,
            "messaging_product": "whatsapp",
        }

    def _download(self, call: GraphCall, request: httpx.Request) -> httpx.Response:
        key = call.form.get("hash", "")
        found = self._media_urls.get(key)
        media = self.media.get(found[0]) if found else None
        if found is None or media is None or self.now() - found[1] > MEDIA_URL_TTL:
            raise _GraphError(404, self._error(100, "URL signature expired or invalid"))
        headers = {"Content-Type": media.mime_type, "Content-Length": str(len(media.data))}
        if media.filename:
            headers["Content-Disposition"] = f'inline;filename="{media.filename}"'
        call.status, call.outcome = 200, "ok"
        return httpx.Response(200, content=media.data, headers=headers)

    # ---------------------------------------------------------------- errors

    def _error(
        self,
        code: int,
        message: str | None = None,
        details: str | None = None,
        *,
        error_type: str = "OAuthException",
        subcode: int | None = None,
    ) -> JSON:
        title, default_details, _ = META_ERRORS.get(code, ("Error", "", 400))
        error: JSON = {
            "message": f"(#{code}) {message or title}" if code != 190 else (message or title),
            "type": error_type,
            "code": code,
        }
        details = default_details if details is None else details
        if details and code != 190:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        if subcode is not None:
            error["error_subcode"] = subcode
        error["fbtrace_id"] = "A" + base64.b64encode(
            hashlib.sha256(str(next(self._ids)).encode()).digest()[:15]
        ).decode().replace("+", "-").replace("/", "_")
        return error

    def _invalid(self, code: int, message: str, details: str | None = None) -> _GraphError:
        status = META_ERRORS.get(code, ("", "", 400))[2]
        return _GraphError(status, self._error(code, message, details or message), rejection=True)

    def _limit(self, details: str) -> _GraphError:
        return self._invalid(131009, META_ERRORS[131009][0], details)

    def _unknown_object(self, method: str, object_id: str) -> JSON:
        error = self._error(
            100,
            f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot"
            " be loaded due to missing permissions, or does not support this operation. Please"
            " read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
            "",
            error_type="GraphMethodException",
            subcode=33,
        )
        error["message"] = error["message"].removeprefix("(#100) ")
        return error

    def _fault_response(self, call: GraphCall, fault: _Fault) -> httpx.Response:
        if fault.status in (502, 504):
            call.status, call.outcome = fault.status, "error"
            text = "Bad Gateway" if fault.status == 502 else "Gateway Timeout"
            return httpx.Response(fault.status, text=text)
        error = self._error(fault.code, fault.message, fault.details)
        call.status, call.outcome, call.error = fault.status, "error", error
        return _json_response(fault.status, {"error": error})

    def _take_fault(self, operation: str) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(operation):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # ---------------------------------------------------------------- helpers

    def _user(self, wa_id: str) -> _User:
        key = _digits(wa_id)
        if not key:
            raise ValueError(f"a wa_id is digits only, got {wa_id!r}")
        if key not in self._users:
            self._users[key] = _User(key, "Marie", self._bsuid(key))
        return self._users[key]

    def _bsuid(self, wa_id: str) -> str:
        country = next((c for prefix, c in _COUNTRIES if wa_id.startswith(prefix)), "FR")
        digest = hashlib.sha256(f"{self.waba_id}:{wa_id}".encode()).hexdigest()
        return f"{country}.{int(digest[:16], 16)}"

    def _name(self, wa_id: str, name: str | None) -> str:
        user = self._user(wa_id)
        if name is not None:
            user.name = name
        return user.name

    def _wamid(self, wa_id: str) -> str:
        number = next(self._ids)
        raw = b"\x1c\x18%c%s\x15\x02\x00\x12\x18 %032X\x00" % (len(wa_id), wa_id.encode(), number)
        return "wamid." + base64.b64encode(raw).decode()

    def _store_media(
        self,
        data: bytes,
        mime_type: str,
        origin: Literal["upload", "inbound"],
        filename: str | None = None,
    ) -> StoredMedia:
        media_id = str(1_000_000_000_000_000 + next(self._ids) * 7919)
        media = StoredMedia(media_id, bytes(data), mime_type, origin, filename)
        self.media[media_id] = media
        return media

    def _inbound(self, wa_id: str, kind: str, content: Any, at: float | datetime | None) -> JSON:
        key = self._user(wa_id).wa_id
        moment = _epoch(at, self.now)
        self.user_wrote(key, moment)
        message: JSON = {"from": key}
        if self.bsuids:
            message["from_user_id"] = self._users[key].bsuid
        message.update(id=self._wamid(key), timestamp=str(int(moment)), type=kind)
        message[kind] = content
        self.inbound.append(message)
        return message

    def _messages_payload(self, wa_id: str, name: str | None, message: JSON) -> JSON:
        key = _digits(wa_id)
        contact: JSON = {"profile": {"name": self._name(key, name)}, "wa_id": key}
        if self.bsuids:
            user = self._users[key]
            contact.update(user_id=user.bsuid, country_code=user.country)
        value = {"contacts": [contact], "messages": [message]}
        payload = self._envelope(value)
        self._notify()
        return dict(_copy(payload))

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
            entry["errors"] = [_status_error(e) for e in errors]
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

    def _notify(self) -> None:
        self._changes.notify()

    async def _wait_change(self, seconds: float) -> None:
        await self._changes.wait(seconds)


# --------------------------------------------------------------------------------------------
# Module-level helpers


def _token(request: httpx.Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    query = parse_qs(request.url.query.decode("ascii"))
    return query.get("access_token", [None])[-1]


def _loads(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def _json_response(status: int, body: object) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=UTF-8"},
    )


def _status_error(error: JSON | int) -> JSON:
    """A complete error object of a status callback (``{"code": 131047}`` is enough)."""
    if isinstance(error, int):
        error = {"code": error}
    code = int(error["code"])
    title, details, _ = META_ERRORS.get(code, ("Error", "", 400))
    full: JSON = {
        "code": code,
        "title": error.get("title", title),
        "message": error.get("message", error.get("title", title)),
        "error_data": error.get("error_data", {"details": details}),
        "href": error.get("href", ERROR_CODES_URL),
    }
    return full


def _parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, tuple[str | None, bytes, str | None]]]:
    """Fields and files of a ``multipart/form-data`` body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    form: dict[str, str] = {}
    files: dict[str, tuple[str | None, bytes, str | None]] = {}
    if match is None:
        return form, files
    delimiter = b"--" + match.group(1).encode("latin-1")
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n")
        head, _, data = part.partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        params = dict(re.findall(r'(\w+)="([^"]*)"', disposition))
        name = params.get("name")
        if name is None:
            continue
        if "filename" in params or "content-type" in headers:
            files[name] = (params.get("filename"), data, headers.get("content-type"))
        else:
            form[name] = data.decode("utf-8", "replace")
    return form, files
