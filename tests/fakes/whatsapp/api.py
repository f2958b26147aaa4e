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

import base64
import hashlib
import itertools
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import httpx

from tests.fakes.common import JSON, copy_json
from tests.fakes.whatsapp.checks import status_error
from tests.fakes.whatsapp.media import MediaEndpoints
from tests.fakes.whatsapp.meta import (
    API_VERSION,
    COUNTRIES,
    DISPLAY_PHONE_NUMBER,
    GRAPH_URL,
    HTTP_FAULTS,
    LOOKASIDE_HOST,
    META_ERRORS,
    PHONE_NUMBER_ID,
    TOKEN,
    WABA_ID,
    WINDOW_SECONDS,
)
from tests.fakes.whatsapp.parser import loads, parse_multipart, token_of
from tests.fakes.whatsapp.records import (
    GraphCall,
    GraphError,
    GraphFault,
    Operation,
    OutboundMessage,
    StoredMedia,
    Template,
    UserState,
    digits,
    epoch,
)
from tests.fakes.whatsapp.transport import GraphTransport, json_response


class FakeGraphAPI(MediaEndpoints):
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
        super().__init__()
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
        self._users: dict[str, UserState] = {}
        self._statuses: list[JSON] = []
        self._media_urls: dict[str, tuple[str, float]] = {}
        self._window: deque[float] = deque()
        self._pair_windows: dict[str, deque[float]] = {}
        self._ids = itertools.count(1)

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
        if code in HTTP_FAULTS:
            http_status, meta_code = code, HTTP_FAULTS[code]
        else:
            http_status, meta_code = META_ERRORS.get(code, ("", "", 400))[2], code
        self._inject(
            GraphFault(
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
        self._inject(GraphFault("timeout", times, operation, applied=applied))

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
        moment = epoch(at, self.now)
        if user.last_inbound is None or moment > user.last_inbound:
            user.last_inbound = moment

    def last_inbound(self, wa_id: str) -> float | None:
        user = self._users.get(digits(wa_id))
        return None if user is None else user.last_inbound

    def in_window(self, wa_id: str, at: float | None = None) -> bool:
        """Whether a free-form message to this user would be delivered now (or at ``at``)."""
        last = self.last_inbound(wa_id)
        now = self.now() if at is None else at
        return last is not None and 0 <= now - last < WINDOW_SECONDS

    # ---------------------------------------------------------------- what users see

    def messages_to(self, wa_id: str) -> list[OutboundMessage]:
        """Messages delivered to this user (read ones included), oldest first."""
        key = digits(wa_id)
        return [m for m in self.messages if m.to == key and m.status != "failed"]

    def failed_to(self, wa_id: str) -> list[OutboundMessage]:
        """Messages to this user accepted by the API but never delivered (131047, 131026...)."""
        key = digits(wa_id)
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
        return await self._until(predicate, timeout, lambda: "last requests: " + ", ".join(
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
            token=token_of(request),
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
            return json_response(200, result)
        except GraphError as error:
            call.status, call.outcome, call.error = error.status, "error", error.error
            if error.rejection:
                self.rejections.append(call)
            return json_response(error.status, {"error": error.error})
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
                body = loads(request.content)
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
            call.form, call.files = parse_multipart(content_type, request.content)
        elif request.content:
            call.json = loads(request.content)
        if request.url.query:
            call.form.update(
                {k: v[-1] for k, v in parse_qs(request.url.query.decode("ascii")).items()}
            )

    def _authorize(self, call: GraphCall) -> None:
        if not call.token:
            raise GraphError(
                401,
                self._error(190, "An access token is required to request this resource."),
            )
        if self.token is not None and call.token != self.token:
            raise GraphError(
                401, self._error(190, "Invalid OAuth access token - Cannot parse access token")
            )

    def _dispatch(self, call: GraphCall, request: httpx.Request, fault: GraphFault | None) -> Any:
        parts = [p for p in call.path.split("/") if p]
        if call.operation in ("send", "mark_read", "upload"):
            if parts[0] != self.phone_number_id:
                raise GraphError(400, self._unknown_object("post", parts[0]))
            if call.operation == "send":
                return self._send(call, fault)
            if call.operation == "mark_read":
                return self._mark_read(call)
            return self._upload(call)
        if call.operation == "media_url":
            return self._media_url(call, parts[0])
        if call.operation == "delete_media":
            if parts[0] not in self.media:
                raise GraphError(400, self._unknown_object("delete", parts[0]))
            del self.media[parts[0]]
            return {"success": True}
        raise GraphError(400, self._unknown_object(request.method.lower(), call.path.strip("/")))

    # ---------------------------------------------------------------- sending

    def _send(self, call: GraphCall, fault: GraphFault | None) -> JSON:
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
        wa_id = digits(body["to"])
        if not 8 <= len(wa_id) <= 15:
            raise self._invalid(100, "Invalid parameter", f"Invalid phone number: {body['to']}")
        kind = body.get("type", "text")
        rendered = self._check_message(kind, body)
        self._check_rate(call, wa_id)
        message = OutboundMessage(
            id=self._wamid(wa_id),
            to=wa_id,
            type=kind,
            payload=copy_json(body),
            at=self.now(),
            rendered=rendered,
        )
        failure = self._delivery_failure(message, fault)
        if failure is not None:
            message.status = "failed"
            message.errors = [status_error(failure)]
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

    def _delivery_failure(self, message: OutboundMessage, fault: GraphFault | None) -> int | None:
        if fault is not None and fault.kind == "status":
            return fault.code
        user = self._users.get(message.to)
        if user is not None and user.undeliverable:
            return 131026
        if message.free_form and not self.in_window(message.to, message.at):
            return 131047
        return None

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
                raise GraphError(status, self._error(code), rejection=True)
        for window, *_ in windows:
            window.append(now)

    def _fault_response(self, call: GraphCall, fault: GraphFault) -> httpx.Response:
        if fault.status in (502, 504):
            call.status, call.outcome = fault.status, "error"
            text = "Bad Gateway" if fault.status == 502 else "Gateway Timeout"
            return httpx.Response(fault.status, text=text)
        error = self._error(fault.code, fault.message, fault.details)
        call.status, call.outcome, call.error = fault.status, "error", error
        return json_response(fault.status, {"error": error})

    # ---------------------------------------------------------------- helpers

    def _user(self, wa_id: str) -> UserState:
        key = digits(wa_id)
        if not key:
            raise ValueError(f"a wa_id is digits only, got {wa_id!r}")
        if key not in self._users:
            self._users[key] = UserState(key, "Marie", self._bsuid(key))
        return self._users[key]

    def _bsuid(self, wa_id: str) -> str:
        country = next((c for prefix, c in COUNTRIES if wa_id.startswith(prefix)), "FR")
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

