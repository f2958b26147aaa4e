"""The HTTP side of the bot: one Starlette app for the platforms that push updates to
us (Telegram in webhook mode, WhatsApp) and a health endpoint.

A push is checked first (Telegram: the secret token header; WhatsApp: the HMAC-SHA256
signature of the raw body; both compared in constant time), then written down, and only
then answered 200: a crash after that loses nothing, and a push that fails the check is
answered 403 and never looked at.

Even a push that passes the check is read within limits: a body over ``MAX_BODY`` is
answered 413 before it is read whole, and one that is not JSON as the platforms write it
(UTF-8, at most ``MAX_DEPTH`` levels of arrays and objects, finite numbers) is answered
400, without a traceback.
"""

from __future__ import annotations

import hmac
import json
import logging
import math

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from chatshop.channels.telegram.bot import TelegramChannel
from chatshop.channels.telegram.inbound import update_id_of
from chatshop.channels.whatsapp.channel import WhatsAppChannel

log = logging.getLogger(__name__)

TELEGRAM_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WHATSAPP_PATH = "/whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
# Meta batches up to 1 000 changes in one push (its documentation gives up to 3 MB);
# a Telegram update is a few kilobytes.
MAX_BODY = 4 * 1024 * 1024
# Meta's payloads and Telegram's updates are at most about a dozen levels deep; far
# deeper is no push of theirs, and would only reach Python's recursion limit later.
MAX_DEPTH = 32


def webhook_app(*, telegram: TelegramChannel | None = None,
                telegram_secret: str | None = None,
                telegram_path: str = TELEGRAM_PATH,
                whatsapp: WhatsAppChannel | None = None) -> Starlette:
    """The ASGI app: ``POST <telegram_path>`` (the path of the webhook URL given to
    Telegram), ``GET`` and ``POST /whatsapp`` (Meta's verification and events) and
    ``GET /health``."""

    async def whatsapp_verify(request: Request) -> Response:
        if whatsapp is None:
            return Response(status_code=404)
        challenge = whatsapp.verification(request.query_params.get("hub.mode"),
                                          request.query_params.get("hub.verify_token"),
                                          request.query_params.get("hub.challenge"))
        if challenge is None:
            return Response(status_code=403)
        return PlainTextResponse(challenge)

    async def whatsapp_event(request: Request) -> Response:
        if whatsapp is None:
            return Response(status_code=404)
        body = await _capped_body(request)
        if body is None:
            return Response(status_code=413)
        if not whatsapp.signed(body, request.headers.get(SIGNATURE_HEADER)):
            log.warning("WhatsApp webhook call without a valid signature: refused")
            return Response(status_code=403)
        payload = parsed(body)
        if not isinstance(payload, dict):
            log.warning("WhatsApp webhook body that is not a JSON object within limits: "
                        "refused")
            return Response(status_code=400)
        await whatsapp.receive(payload)  # written down: now Meta may have its 200
        return Response(status_code=200)

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def telegram_update(request: Request) -> Response:
        if telegram is None or not telegram_secret:
            return Response(status_code=404)
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), telegram_secret.encode()):
            log.warning("Telegram webhook call without the right secret: refused")
            return Response(status_code=403)
        body = await _capped_body(request)
        if body is None:
            return Response(status_code=413)
        data = parsed(body)
        if not isinstance(data, dict) or update_id_of(data) is None:
            log.warning("Telegram webhook body that is not an update: refused")
            return Response(status_code=400)
        # Kept as it came: parsed, it is UTF-8 and JSON that SQLite takes. A redelivery
        # is answered 200 too: nothing to redo.
        await telegram.accept(data, body.decode("utf-8"))
        return Response(status_code=200)

    return Starlette(routes=[
        Route("/health", health, methods=["GET"]),
        Route(telegram_path or TELEGRAM_PATH, telegram_update, methods=["POST"]),
        Route(WHATSAPP_PATH, whatsapp_verify, methods=["GET"]),
        Route(WHATSAPP_PATH, whatsapp_event, methods=["POST"]),
    ])


async def _capped_body(request: Request) -> bytes | None:
    """The request's body, or None past ``MAX_BODY`` (a declared length is trusted to
    refuse early; a chunked body is counted as it comes, never read whole first)."""
    declared = request.headers.get("content-length")
    if declared is not None and not (declared.isascii() and declared.isdigit()
                                     and len(declared) <= 12 and int(declared) <= MAX_BODY):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def parsed(body: bytes) -> object | None:
    """The JSON value of a body, or None if it is not JSON as Meta and Telegram write it:
    UTF-8, at most ``MAX_DEPTH`` levels deep, numbers finite (no ``NaN``, ``Infinity``
    nor ``1e400``: Python reads them as floats and writes them back as ``NaN`` and
    ``Infinity``, which SQLite's ``json_valid`` refuses)."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_no_constant,
                           parse_float=_finite)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested past Python's limit
        return None
    return value if _within(value, MAX_DEPTH) else None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range")
    return number


def _within(value: object, depth: int) -> bool:
    """Whether ``value`` nests arrays and objects at most ``depth`` levels deep (walked
    level by level, not recursively)."""
    level = [value]
    for _level in range(depth):
        level = [child for item in level
                 for child in (item.values() if isinstance(item, dict)
                               else item if isinstance(item, list) else ())
                 if isinstance(child, dict | list)]
        if not level:
            return True
    return False
