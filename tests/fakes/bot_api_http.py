"""The fake Bot API over real HTTP on the loopback address, for a bot in another process.

:class:`FakeBotAPI` is normally reached in process through ``FakeRequest``. The crash tests
run ``chatshop run`` as a separate process and kill it: what the fake recorded must live in
the test's process, so this serves the same fake on ``127.0.0.1`` (an ephemeral port) to
python-telegram-bot's real ``HTTPXRequest``::

    api = FakeBotAPI()
    async with BotAPIServer(api) as server:
        env = {"CHATSHOP_TELEGRAM_BASE_URL": server.base_url,            # .../bot
               "CHATSHOP_TELEGRAM_BASE_FILE_URL": server.base_file_url}  # .../file/bot
        ...  # start the bot with env; read api.messages(...) as usual

python-telegram-bot posts its parameters as a form (``application/x-www-form-urlencoded``,
or ``multipart/form-data`` when it uploads a file), each value JSON-encoded except plain
strings. They are decoded back into the shape ``RequestData.parameters`` has in process,
so the fake sees the same call either way. Files are downloaded with ``GET``.

While the fake is down (``api.go_down()``), or when it raises ``TimedOut``/``NetworkError``,
the connection is dropped without an answer: the bot sees a network error, as when
Telegram cannot be reached. HTTP/1.1 keep-alive is supported (with ``h11``, which httpx
itself uses); nothing else of HTTP is (no pipelining, no TLS).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import h11
from telegram.error import NetworkError, TimedOut

from tests.fakes.bot_api import FakeBotAPI, FakeCall

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
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

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
        self._server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> BotAPIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- one connection ----------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve_connection(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, h11.ProtocolError):
            pass  # the bot went away (killed), or closed the connection mid-request
        finally:
            self._connections.discard(task)
            writer.transport.abort()

    async def _serve_connection(self, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        while True:
            request: h11.Request | None = None
            body = bytearray()
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    if not data and request is None and not body:
                        return  # closed between requests
                    conn.receive_data(data)
                    continue
                if isinstance(event, h11.ConnectionClosed):
                    return
                if isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.Data):
                    body += event.data
                    if len(body) > _MAX_BODY:
                        return
                elif isinstance(event, h11.EndOfMessage):
                    break
            assert request is not None
            answer = await self._answer(request, bytes(body))
            if answer is None:
                return  # dropped: the bot sees a network error
            status, payload, content_type = answer
            writer.write(conn.send(h11.Response(status_code=status, headers=[
                ("Content-Type", content_type), ("Content-Length", str(len(payload)))])) or b"")
            writer.write(conn.send(h11.Data(data=payload)) or b"")
            writer.write(conn.send(h11.EndOfMessage()) or b"")
            await writer.drain()
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()

    async def _answer(self, request: h11.Request, body: bytes
                      ) -> tuple[int, bytes, str] | None:
        target = request.target.decode("latin-1")
        method = request.method.decode("ascii")
        url = f"http://{self.host}:{self.port}{target}"
        headers = {name.decode("latin-1").lower(): value.decode("latin-1")
                   for name, value in request.headers}
        request_data: _WireRequestData | None = None
        if method != "GET":
            try:
                fields, files = _parse_body(headers.get("content-type", ""), body)
            except (ValueError, UnicodeDecodeError) as problem:
                self.failures.append(f"{target}: unreadable body ({problem!r})")
                return 400, b'{"ok":false,"error_code":400,"description":"Bad Request"}', \
                    "application/json"
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
