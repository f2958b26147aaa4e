"""python-telegram-bot's HTTP layer (its public seam, ``BaseRequest``) shaped to what
chatshop needs of it: long polling that loses nothing, and sends that are not paid twice.

**Polling.** Telegram forgets a batch of updates once ``getUpdates`` is called again with
a higher offset, which python-telegram-bot's ``Updater`` does only after the previous
call has returned. So the getUpdates request (``WritingDownRequest``) writes each batch
down — Telegram's JSON as it came, one transaction — before it hands the answer back: by
the time the Updater confirms a batch, it is in our database. If writing it down fails,
python-telegram-bot sees a network error and asks for the same batch again, unconfirmed.
This is a request rather than an override of ``Bot.get_updates`` because only the HTTP
answer still holds the updates as Telegram wrote them (python-telegram-bot's objects,
written back with ``to_dict``, differ from it and cost more than reading them), and
rather than a polling loop of our own because the Updater's already handles time-outs,
retries, back-off and the last confirmation at a stop.

**Sends.** Telegram answers every send with the whole message it now shows (text,
formatting, keyboard), which python-telegram-bot reads and turns into a ``Message``: 60 µs
for the smallest message, 150 µs and more for a card with its buttons, a fifth of what an
update costs the whole stack (cProfile on bench/telegram_stack.py). chatshop never reads
those messages, so the request
for every other call (``ShortAnswersRequest``) answers python-telegram-bot's sends
(``SENDS``) with ``true`` once Telegram has taken them, the answer python-telegram-bot
returns as is, without building a ``Message`` (as Telegram answers an edit of an inline
message): ``Bot.send_message`` and its siblings then return ``True``. Errors (403, 429,
a refusal) come through untouched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram.request import BaseRequest, RequestData

from chatshop.channels.telegram.inbound import update_id_of, written_form

log = logging.getLogger(__name__)

# (update id, its JSON as written down) of each update of a batch.
Fetched = Callable[[Sequence[tuple[int, str]]], Awaitable[None]]


class _Around(BaseRequest):
    """Another request's HTTP calls, as they are."""

    def __init__(self, request: BaseRequest) -> None:
        self._inner = request

    @property
    def read_timeout(self) -> float | None:
        return self._inner.read_timeout

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def do_request(self, url: str, method: str,
                         request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        return await self._inner.do_request(url, method, request_data, *args, **kwargs)


class WritingDownRequest(_Around):
    """The getUpdates request: ``request``'s, with each batch given to ``fetched`` (to be
    written down) before python-telegram-bot reads it."""

    def __init__(self, request: BaseRequest, fetched: Fetched) -> None:
        super().__init__(request)
        self._fetched = fetched

    async def do_request(self, url: str, method: str,
                         request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, body = await super().do_request(url, method, request_data, *args, **kwargs)
        if status == 200:
            batch = _batch(body)
            if batch:
                await self._fetched(batch)
        return status, body


class ShortAnswersRequest(_Around):
    """The request for every call but getUpdates: ``request``'s, with the answer to a
    send Telegram took read as ``true``."""

    async def do_request(self, url: str, method: str,
                         request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, body = await super().do_request(url, method, request_data, *args, **kwargs)
        if status == 200 and url.rpartition("/")[2] in SENDS:
            return status, _TAKEN
        return status, body


# The Bot API methods chatshop sends its replies with (``render.py``), whose answer is the
# message Telegram now shows.
SENDS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendVenue",
                   "editMessageText"})
_TAKEN = b'{"ok": true, "result": true}'


def _batch(body: bytes) -> list[tuple[int, str]]:
    """The updates of a getUpdates answer (python-telegram-bot reads the answer itself;
    what it refuses, it refuses as for any bot)."""
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        return []
    result = answer.get("result") if isinstance(answer, dict) else None
    batch = []
    for data in result if isinstance(result, list) else ():
        update_id = update_id_of(data)
        if update_id is None:  # never seen from Telegram
            log.error("not an update, not written down: %.200r", data)
        else:
            batch.append((update_id, written_form(data)))
    return batch
