"""The Bot API's answers to what it refuses (``{"ok": false, "error_code", "description",
"parameters": {"retry_after"}}``), with Telegram's own descriptions, so that python-telegram-bot
raises its real ``BadRequest``/``Forbidden``/``RetryAfter``/``InvalidToken``."""

from __future__ import annotations

import json

from telegram import Bot

from tests.fakes.common import JSON
from tests.fakes.telegram.records import BotFault

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are"
    " exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active;"
    " use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request;"
    " make sure that only one bot instance is running"
)
_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}



class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> bytes:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return dump(body)


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def dump(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")



def unknown_method(method: str) -> ApiError:
    real = method[:1].islower() and callable(getattr(Bot, method, None))
    if real:
        return ApiError(404, f"Not Found: the fake Bot API does not implement {method}")
    return ApiError(404, "Not Found")


def injected_error(fault: BotFault) -> ApiError:
    status = fault.status
    if status == 429:
        retry_after = fault.retry_after or 1
        description = fault.description or f"Too Many Requests: retry after {retry_after}"
        return ApiError(429, description, {"retry_after": retry_after})
    description = fault.description or _PHRASES.get(status, "Internal Server Error")
    parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
    return ApiError(status, description, parameters)

