"""The fake Bot API over real HTTP on the loopback address, for a bot in another process.

:class:`~tests.fakes.telegram.api.FakeBotAPI` is normally reached in process through
``FakeRequest``. The crash tests run ``chatshop run`` as a separate process and kill it: what
the fake recorded must live in the test's process, so this serves the same fake on
``127.0.0.1`` (an ephemeral port) to python-telegram-bot's real ``HTTPXRequest``::

    api = FakeBotAPI()
    async with BotAPIServer(api) as server:
        env = server.environment()  # CHATSHOP_TELEGRAM_BASE_URL, ..._BASE_FILE_URL
        ...  # start the bot with env; read api.messages(...) as usual

The HTTP side is a Starlette app served by uvicorn. python-telegram-bot posts its parameters as
a form (``application/x-www-form-urlencoded``, or ``multipart/form-data`` when it uploads a
file), each value JSON-encoded except plain strings; they are decoded back into the shape
``RequestData.parameters`` has in process, so the fake sees the same call either way. Files are
downloaded with ``GET``.

One thing an ASGI app cannot do is drop a connection without answering; yet that is what the
bot must see while the fake is down (``api.go_down()``), or when it raises ``TimedOut`` or
``NetworkError``: a network error, as when Telegram cannot be reached. For that the app reaches
below ASGI, to the connection's transport in uvicorn's registry of open connections, and aborts
it (:func:`_drop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram.error import NetworkError, TimedOut

from tests.fakes.telegram.api import FakeBotAPI
from tests.fakes.telegram.records import FakeCall

__all__ = ["BotAPIServer", "decode_parameters"]

log = logging.getLogger(__name__)

JSON = dict[str, Any]

# Parameters whose value is a string even when it looks like JSON (a text « 12 », a
# caption « true »): python-telegram-bot sends strings as they are, never JSON-encoded.
_STRING_PARAMETERS = frozenset({
    "text", "caption", "title", "address", "description", "short_description", "name",
    "callback_query_id", "parse_mode", "action", "photo", "document", "file_id",
    "secret_token", "url", "ip_address", "language_code", "foursquare_id",
    "foursquare_type", "google_place_id", "google_place_type", "phone_number",
    "first_name", "last_name", "emoji",
})

_MAX_BODY = 60 * 1024 * 1024
_UNREADABLE = b'{"ok":false,"error_code":400,"description":"Bad Request"}'


def decode_parameters(fields: dict[str, str]) -> JSON:
    """Form fields as python-telegram-bot encoded them -> ``RequestData.parameters``."""
    decoded: JSON = {}
    for name, value in fields.items():
        if name in _STRING_PARAMETERS:
            decoded[name] = value
            continue
        try:
            decoded[name] = json.loads(value)
        except ValueError:
            decoded[name] = value  # a plain string (a chat's @username...)
    return decoded


class _WireRequestData:
    """What the fake reads of a ``telegram.request.RequestData``, rebuilt from the wire."""

    def __init__(self, fields: dict[str, str],
                 files: dict[str, tuple[str, bytes, str]]) -> None:
        self.json_parameters = fields
        self.parameters = decode_parameters(fields)
        self.multipart_data = files
        self.contains_files = bool(files)


def _parse_body(content_type: str, body: bytes
                ) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """(form fields, uploaded files) of a request body."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}, {}
    if kind == "application/json":
        data = json.loads(body)
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}, {}
    if kind == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
        fields: dict[str, str] = {}
        files: dict[str, tuple[str, bytes, str]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            filename = part.get_filename()
            if filename is None:
                fields[name] = data.decode("utf-8")
            else:
                files[name] = (filename, data, part.get_content_type())
        return fields, files
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)), {}


class _Server(uvicorn.Server):
    """uvicorn, leaving the signals of the test's process alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _drop(server: uvicorn.Server, request: Request) -> None:
    """Abort the connection ``request`` came on, without an answer (the raw layer: below
    ASGI, the transport of that connection in uvicorn's registry), and wait until uvicorn
    has seen it go, so that it does not answer in our stead."""
    client = (request.client.host, request.client.port) if request.client else None
    for connection in list(server.server_state.connections):
        transport = getattr(connection, "transport", None)
        if transport is not None and getattr(connection, "client", None) == client:
            transport.abort()
    while (await request.receive())["type"] != "http.disconnect":
        pass


class BotAPIServer:
    """Serves a :class:`FakeBotAPI` on ``127.0.0.1`` until :meth:`close`."""

    def __init__(self, api: FakeBotAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self.host = host
        self.port = port
        self.answered: Callable[[FakeCall], None] | None = None
        """Called with each call once the fake has answered it, before the answer is
        written (a test's hook: go down right after a getUpdates, for instance)."""
        self.failures: list[str] = []
        """Requests the server could not make sense of (a bug of the test setup)."""
        self._server: _Server | None = None
        self._serving: asyncio.Task[None] | None = None
        self._requests: set[asyncio.Task[Any]] = set()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    def environment(self) -> dict[str, str]:
        """The ``CHATSHOP_`` settings that point a bot at this server."""
        return {"CHATSHOP_TELEGRAM_BASE_URL": self.base_url,
                "CHATSHOP_TELEGRAM_BASE_FILE_URL": self.base_file_url}

    async def start(self) -> None:
        app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST"])])
        config = uvicorn.Config(app, host=self.host, port=self.port, lifespan="off",
                                log_config=None, log_level="warning", access_log=False,
                                h11_max_incomplete_event_size=64 * 1024)
        self._server = server = _Server(config)
        self._serving = asyncio.create_task(server.serve())
        while not server.started:
            if self._serving.done():
                self._serving.result()  # raises what stopped it (the port is taken...)
                raise RuntimeError("the fake Bot API's server stopped at start-up")
            await asyncio.sleep(0.005)
        self.port = server.servers[0].sockets[0].getsockname()[1]

    async def close(self) -> None:
        # Requests still running (a long poll of a bot that was killed) end now.
        for task in list(self._requests):
            task.cancel()
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._serving
        self._server = self._serving = None

    async def __aenter__(self) -> BotAPIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- one request ---------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        """One Bot API request, answered by the fake (or dropped, like an unreachable
        Telegram)."""
        task = asyncio.current_task()
        assert task is not None
        assert self._server is not None
        self._requests.add(task)
        try:
            answer = await self._answer(request)
            if answer is None:
                await _drop(self._server, request)
                return Response(status_code=500)  # never sent: the connection is gone
            status, payload, content_type = answer
            return Response(payload, status_code=status, media_type=content_type)
        finally:
            self._requests.discard(task)

    async def _answer(self, request: Request) -> tuple[int, bytes, str] | None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        method = request.method
        url = f"http://{self.host}:{self.port}{target}"
        request_data: _WireRequestData | None = None
        if method != "GET":
            body = await request.body()
            if len(body) > _MAX_BODY:
                return None
            try:
                fields, files = _parse_body(request.headers.get("content-type", ""), body)
            except (ValueError, UnicodeDecodeError) as problem:
                self.failures.append(f"{target}: unreadable body ({problem!r})")
                return 400, _UNREADABLE, "application/json"
            request_data = _WireRequestData(fields, files)
        calls_before = len(self.api.calls)
        try:
            status, payload = await self.api.serve(
                url, method, request_data,  # type: ignore[arg-type]
                None)
        except (NetworkError, TimedOut):
            return None
        except asyncio.CancelledError:
            raise
        except Exception as problem:  # a bug of the fake: say it, answer like a proxy
            self.failures.append(f"{target}: {problem!r}")
            log.exception("fake Bot API failed on %s", target)
            return 502, b"Bad Gateway", "text/plain"
        if self.answered is not None:
            call = self._call_of(calls_before, target, request_data)
            if call is not None:
                self.answered(call)
        is_download = method == "GET" or "/file/bot" in target
        return status, payload, ("application/octet-stream" if is_download and status == 200
                                 else "application/json")

    def _call_of(self, since: int, target: str, request_data: _WireRequestData | None
                 ) -> FakeCall | None:
        """The fake's record of this request (others may have come in meanwhile)."""
        method = target.rstrip("/").rsplit("/", 1)[-1]
        params = request_data.parameters if request_data is not None else None
        for call in self.api.calls[since:]:
            if call.method == method and (params is None or call.params == params):
                return call
        return None
