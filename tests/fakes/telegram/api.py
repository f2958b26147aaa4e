"""An in-process fake of the Telegram Bot API, for tests and benchmarks.

A real python-telegram-bot ``Bot``/``ExtBot``/``Application`` talks to it through
:class:`FakeRequest`, a ``telegram.request.BaseRequest`` (the way python-telegram-bot's own test
suite replaces its HTTP layer), so nothing ever touches the network::

    api = FakeBotAPI()
    app = (
        ApplicationBuilder().token("123:ABC")
        .request(api.request()).get_updates_request(api.request()).build()
    )
    marie = api.user(1001)
    api.send_text(marie, "/start p_12")          # an update, served by getUpdates
    await api.wait_for(lambda: api.messages(marie))
    assert "Bonjour" in api.last(marie).text     # what Marie sees, after edits

What the fake does, like Telegram does it:

* answers in the Bot API format (``{"ok": true, "result": ...}``, errors with ``error_code``,
  ``description`` and ``parameters.retry_after``) with Telegram's own error descriptions, so
  python-telegram-bot raises its real ``BadRequest``/``Forbidden``/``RetryAfter``/...;
* enforces Telegram's limits: callback_data 1-64 UTF-8 bytes, inline buttons with a non-empty
  text and exactly one action, text 1-4096 and caption 0-1024 characters counted after entity
  parsing (``parse_mode="HTML"`` is parsed like Telegram: unknown or unbalanced tags are refused,
  tags stripped, entities decoded, surrounding whitespace trimmed), editing rules ("message is
  not modified", "there is no text in the message to edit", ...), callback queries answered once,
  bots cannot write first to a user who never wrote to them;
* rate limits: at most ``global_per_second`` sending calls (send*/edit*/copy*/forward*) in any
  one-second window, optionally ``per_chat_per_second`` per chat; over it, 429 with
  ``retry_after`` and the call is not applied (counted in :attr:`FakeBotAPI.rejections`);
* getUpdates with Telegram's offset semantics and long polling that wakes up when an update is
  pushed (and is cancellable), webhooks, bot commands per scope, file uploads and downloads;
* faults on demand: a user who blocked the bot (403), the next calls failing with 5xx/429,
  timing out, or the whole API being unreachable (an outage).

Channels: ``api.channel(...)`` makes one the bot posts in, by ``@username`` or id, with
Telegram's answers when the bot is no member (403) or no administrator (400), and Telegram's
20 messages a minute in a channel or group (``per_group_per_minute``).

What it does not do: Markdown/MarkdownV2 parse modes (refused with a 400 that says so), groups
and messages posted by others in channels, inline mode, payments, media groups, and every
method it does not list (answered 404 like Telegram answers an unknown method, which
python-telegram-bot raises as ``InvalidToken``).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData

from tests.fakes.common import JSON, copy_json
from tests.fakes.telegram.errors import (
    POLL_CONFLICT,
    WEBHOOK_CONFLICT,
    ApiError,
    dump,
    injected_error,
    unknown_method,
)
from tests.fakes.telegram.methods import BotMethods, Handler, scope_key
from tests.fakes.telegram.parser import command_entities
from tests.fakes.telegram.records import (
    BOT_FIRST_NAME,
    BOT_ID,
    BOT_USERNAME,
    SENDING_PREFIXES,
    BotFault,
    ChatState,
    FakeCall,
    FakeCallbackAnswer,
    FakeFile,
    FakeMessage,
    FakeUser,
    FakeWebhook,
    iter_buttons,
)
from tests.fakes.telegram.transport import FakeRequest, parse_url, uploaded_files


class FakeBotAPI(BotMethods):
    """The state of a fake Telegram: the bot, its chats and their messages, files, updates,
    webhook, commands, every call received, and the faults to inject."""

    def __init__(
        self,
        *,
        token: str | None = None,
        global_per_second: int | None = 30,
        per_chat_per_second: int | None = None,
        per_group_per_minute: int | None = 20,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        latency: float = 0.0,
        bot_id: int = BOT_ID,
        bot_username: str = BOT_USERNAME,
        bot_first_name: str = BOT_FIRST_NAME,
        keep_history: int | None = None,
    ) -> None:
        """``token``: if given, calls made with another token get 401 (``InvalidToken``).
        ``clock`` times calls and rate limits; ``wall_clock`` dates messages (unix seconds).
        ``latency``: seconds every call takes (0 still yields to the event loop once).
        ``keep_history``: for benchmarks, keep only the last that many calls (rejections,
        callback answers) and messages of each chat, dropping older ones as new ones
        come; kept whole, their records grow with every call, and so do the garbage
        collector's passes over them, pauses no real Bot API puts in the bot's process."""
        super().__init__()
        self.token = token
        self.keep_history = keep_history
        self.global_per_second = global_per_second
        self.per_chat_per_second = per_chat_per_second
        self.per_group_per_minute = per_group_per_minute
        self.clock = clock
        self.wall_clock = wall_clock
        self.latency = latency
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.calls: list[FakeCall] = []
        self.on_call: Callable[[FakeCall], None] | None = None
        """Told of every call as it ends, with its outcome (benchmarks check each)."""
        self.rejections: list[FakeCall] = []
        """Calls refused by the rate limits (429), in order."""
        self.callback_answers: list[FakeCallbackAnswer] = []
        self.files: dict[str, FakeFile] = {}
        self.webhook = FakeWebhook()
        self.my_commands: dict[tuple[str, str], list[tuple[str, str]]] = {}
        """(scope as canonical JSON, language_code or "") -> [(command, description)]."""
        self.bot_texts: dict[tuple[str, str], str] = {}
        """("description" | "short_description" | "name", language_code) -> text."""
        self._chats: dict[int, ChatState] = {}
        self._updates: list[JSON] = []
        self._next_update_id = 100001
        self._allowed_updates: list[str] | None = None
        self._window: deque[float] = deque()
        self._chat_windows: dict[object, deque[float]] = {}
        self._group_windows: dict[object, deque[float]] = {}
        self._open_queries: set[str] = set()
        self._photo_groups: dict[str, list[JSON]] = {}
        self._ids = itertools.count(1)
        self._poll_generation = 0
        self._handlers: dict[str, Handler] = {
            "getMe": lambda p, f: copy_json(self.bot_user),
            "logOut": lambda p, f: True,
            "close": lambda p, f: True,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendVenue": self._send_venue,
            "sendLocation": self._send_location,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_text,
            "editMessageCaption": self._edit_caption,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyDescription": self._bot_text_setter("description"),
            "getMyDescription": self._bot_text_getter("description"),
            "setMyShortDescription": self._bot_text_setter("short_description"),
            "getMyShortDescription": self._bot_text_getter("short_description"),
            "setMyName": self._bot_text_setter("name"),
            "getMyName": self._bot_text_getter("name"),
        }

    # ---------------------------------------------------------------- wiring

    def request(self, read_timeout: float | None = 5.0) -> FakeRequest:
        """A new request object bound to this API (a Bot needs two: calls and getUpdates)."""
        return FakeRequest(self, read_timeout=read_timeout)

    # ---------------------------------------------------------------- faults

    def block(self, chat: int | FakeUser, *, notify: bool = True) -> None:
        """The user blocks the bot: every send to them is 403 "bot was blocked by the user".
        Like Telegram, a ``my_chat_member`` update (member -> kicked) is pushed unless
        ``notify=False``."""
        state = self._chat(chat)
        state.blocked = True
        if notify:
            self._push_member_change(state, "member", "kicked")
        self._notify()

    def unblock(self, chat: int | FakeUser, *, notify: bool = True) -> None:
        state = self._chat(chat)
        state.blocked = False
        if notify:
            self._push_member_change(state, "kicked", "member")
        self._notify()

    def fail_next(
        self,
        status: int = 500,
        times: int = 1,
        method: str | None = None,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (None: any method but getUpdates, which a
        polling Application would otherwise swallow) answer ``status`` and are not applied.
        429 carries ``retry_after`` (default 1)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self._inject(
            BotFault("status", times, method, status, retry_after, description=description)
        )

    def timeout_next(
        self, times: int = 1, method: str | None = None, *, applied: bool = False
    ) -> None:
        """The next ``times`` calls of ``method`` (None: any but getUpdates) raise ``TimedOut``.
        ``applied=True``: the call is carried out before the response is lost, as happens when a
        timeout strikes after Telegram received the request (the message *was* delivered)."""
        self._inject(BotFault("timeout", times, method, applied=applied))

    # ---------------------------------------------------------------- channels

    def channel(
        self,
        chat_id: int = -1001234567890,
        username: str | None = "consommelocal",
        title: str = "Consomme local",
        *,
        member: bool = True,
        admin: bool = True,
    ) -> FakeUser:
        """A channel the bot may post in (``member`` and ``admin``), reached by its id or
        ``@username``; returned as the "user" that stands for it (``messages(channel)``)."""
        person = FakeUser(chat_id, title, None, username, None)
        self._chats[chat_id] = ChatState(
            id=chat_id, user=person, started=member, kind="channel", admin=admin
        )
        return person

    def photo_file(self, data: bytes) -> str:
        """A photo Telegram already keeps (someone sent it to the bot earlier): the
        file_id of its largest size, for the bot to send again."""
        return str(self._register_photo(data)[-1]["file_id"])

    def set_rights(self, channel: int | FakeUser, *, member: bool, admin: bool) -> None:
        """The channel's owner changes what the bot may do there."""
        state = self._chat(channel)
        state.started, state.admin = member, admin
        self._notify()

    # ---------------------------------------------------------------- inbound updates

    def user(
        self,
        user_id: int,
        first_name: str = "Marie",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "fr",
        *,
        started: bool = False,
    ) -> FakeUser:
        """A user and their private chat. The bot may write to them only once they have written
        to it (any inbound update) or with ``started=True``."""
        person = FakeUser(user_id, first_name, last_name, username, language_code)
        chat = self._chats.get(user_id)
        if chat is None:
            self._chats[user_id] = ChatState(id=user_id, user=person, started=started)
        else:
            chat.user = person
            chat.started = chat.started or started
        return person

    def send_text(self, user: FakeUser | int, text: str) -> JSON:
        """The user sends a text (``/commands`` get their bot_command entities)."""
        chat = self._inbound(user)
        message = self._store(chat, from_bot=False, kind="text", text=text)
        message.entities = command_entities(text)
        return self._push({"message": message.to_json()})

    def press(
        self, user: FakeUser | int, message_id: int, data: str, *, strict: bool = True
    ) -> JSON:
        """The user presses the inline button carrying ``data`` under message ``message_id``.
        ``strict=False`` lets a test forge data no button carries (a modified client)."""
        chat = self._inbound(user)
        message = chat.find(message_id)
        if message is None or not message.from_bot:
            raise ValueError(f"no message {message_id} from the bot in chat {chat.id}")
        datas = [b.get("callback_data") for b in iter_buttons(message.reply_markup)]
        if strict and data not in datas:
            raise ValueError(
                f"message {message_id} has no button with callback_data {data!r}: {message.buttons}"
            )
        query_id = str(4_300_000_000_000_000_000 + next(self._ids))
        self._open_queries.add(query_id)
        return self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": chat.user.to_json(),
                    "message": message.to_json(),
                    "chat_instance": str(-(chat.id * 7919 + 13)),
                    "data": data,
                }
            }
        )

    def press_label(self, user: FakeUser | int, label: str, message_id: int | None = None) -> JSON:
        """Press the callback button with this label (under the last bot message by default)."""
        message = self.last(user) if message_id is None else self._message(user, message_id)
        return self.press(user, message.message_id, message.button_data(label))

    def send_photo(self, user: FakeUser | int, data: bytes, caption: str | None = None) -> JSON:
        """The user sends a photo: several sizes, largest last, all downloadable."""
        chat = self._inbound(user)
        message = self._store(chat, from_bot=False, kind="photo", text=caption)
        message.photo_sizes = self._register_photo(data)
        return self._push({"message": message.to_json()})

    def send_document(
        self,
        user: FakeUser | int,
        data: bytes,
        file_name: str,
        mime_type: str = "text/csv",
        caption: str | None = None,
    ) -> JSON:
        chat = self._inbound(user)
        message = self._store(chat, from_bot=False, kind="document", text=caption)
        message.document = self._register_document(data, file_name, mime_type)
        return self._push({"message": message.to_json()})

    def send_contact(self, user: FakeUser | int, phone_number: str) -> JSON:
        """The user shares their own phone number (the contact's user_id is theirs)."""
        chat = self._inbound(user)
        message = self._store(chat, from_bot=False, kind="contact")
        contact: JSON = {
            "phone_number": phone_number,
            "first_name": chat.user.first_name,
            "user_id": chat.user.id,
        }
        if chat.user.last_name:
            contact["last_name"] = chat.user.last_name
        message.contact = contact
        return self._push({"message": message.to_json()})

    def send_location(self, user: FakeUser | int, latitude: float, longitude: float) -> JSON:
        chat = self._inbound(user)
        message = self._store(chat, from_bot=False, kind="location")
        message.location = {"latitude": latitude, "longitude": longitude}
        return self._push({"message": message.to_json()})

    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by a getUpdates offset."""
        return copy_json(self._updates)

    # ---------------------------------------------------------------- what users see

    def messages(
        self, chat: int | FakeUser, *, include_user: bool = False, include_deleted: bool = False
    ) -> list[FakeMessage]:
        """The bot's messages in this chat, oldest first, as they are now (after edits)."""
        state = self._chats.get(self._chat_key(chat))
        if state is None:
            return []
        return [
            m
            for m in state.messages
            if (include_user or m.from_bot) and (include_deleted or not m.deleted)
        ]

    def last(self, chat: int | FakeUser) -> FakeMessage:
        """The bot's last (not deleted) message in this chat."""
        messages = self.messages(chat)
        if not messages:
            raise AssertionError(f"the bot has sent no message to chat {self._chat_key(chat)}")
        return messages[-1]

    def reply_keyboard(self, chat: int | FakeUser) -> list[list[str]] | None:
        """The reply keyboard currently shown under the user's input field, if any."""
        state = self._chats.get(self._chat_key(chat))
        return None if state is None else state.reply_keyboard

    def sent_to(self, chat: int | FakeUser, *, include_failed: bool = False) -> list[FakeCall]:
        """Sending calls (send*/edit*/copy*/forward*) addressed to this chat."""
        key = self._chat_key(chat)
        return [
            c
            for c in self.calls
            if c.method.startswith(SENDING_PREFIXES)
            and c.chat_id == key
            and (include_failed or c.ok)
        ]

    def calls_to(self, method: str) -> list[FakeCall]:
        return [c for c in self.calls if c.method == method]

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[tuple[str, str]]:
        """The bot's commands for a scope (default scope if None) and language."""
        return list(self.my_commands.get((scope_key(scope), language_code), []))

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline, not a cancellation scope
    ) -> Any:
        """Wait until ``predicate()`` is truthy and return its value. Re-checked after every call
        the fake receives, every update pushed, and every 20 ms (for state outside the fake).
        A predicate that raises counts as false; on timeout its last error is raised."""
        return await self._until(predicate, timeout, lambda: "last calls: " + ", ".join(
                f"{c.method}:{c.outcome}" for c in self.calls[-8:]))

    # ---------------------------------------------------------------- serving requests

    async def serve(
        self,
        url: str,
        http_method: str,
        request_data: RequestData | None,
        read_timeout: float | None,
    ) -> tuple[int, bytes]:
        """Answer one HTTP request as Telegram would (the entry point of :class:`FakeRequest`)."""
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        else:
            await asyncio.sleep(0)
        token, method, file_path = parse_url(url)
        if http_method.upper() == "GET" or file_path is not None:
            return self._serve_download(token, file_path or "", url)
        # python-telegram-bot builds these afresh for every request: kept as they are.
        params: JSON = dict(request_data.parameters) if request_data else {}
        if request_data is not None:
            _ = request_data.json_parameters  # what goes on the wire must be JSON-encodable
        files = uploaded_files(request_data)
        call = FakeCall(method, params, self.clock(), files, chat_id=self._target(params))
        self._record(self.calls, call)
        try:
            fault = self._before(call, token)
            if method == "getUpdates":
                result = await self._get_updates(params, read_timeout)
            else:
                handler = self._handlers.get(method)
                if handler is None:
                    raise unknown_method(method)
                if method.startswith(SENDING_PREFIXES):
                    self._check_rate(call)
                result = handler(params, files)
            if fault is not None and fault.kind == "timeout":
                call.outcome, call.result = "timeout", result
                raise TimedOut()
            call.status, call.outcome, call.result = 200, "ok", result
            return 200, dump({"ok": True, "result": result})
        except ApiError as error:
            call.status, call.outcome, call.error = error.status, "error", error.description
            return error.status, error.payload()
        except TimedOut:
            call.outcome = "timeout"
            raise
        except NetworkError:
            call.outcome = "network"
            raise
        except asyncio.CancelledError:
            call.outcome = "cancelled"
            raise
        except Exception as exc:
            # A bug of the fake (python-telegram-bot will wrap it in a NetworkError): keep it.
            call.outcome, call.error = "error", f"fake Bot API failure: {exc!r}"
            raise
        finally:
            self._notify()
            if self.on_call is not None:
                self.on_call(call)

    def _before(self, call: FakeCall, token: str | None) -> BotFault | None:
        """Outage, injected faults and the token, before anything is applied."""
        if self._down:
            call.outcome = "network"
            raise NetworkError("httpx.ConnectError: [Errno 111] Connection refused")
        fault = self._take_fault(call.method)
        if fault is not None and fault.kind == "timeout" and not fault.applied:
            call.outcome = "timeout"
            raise TimedOut()
        if fault is not None and fault.kind == "status":
            raise injected_error(fault)
        if self.token is not None and token != self.token:
            raise ApiError(401, "Unauthorized")
        return fault


    def _check_rate(self, call: FakeCall) -> None:
        now = self.clock()
        chat_key = call.chat_id
        windows: list[tuple[deque[float], int, float]] = []
        if self.global_per_second is not None:
            windows.append((self._window, self.global_per_second, 1.0))
        if self.per_chat_per_second is not None and chat_key is not None:
            windows.append(
                (self._chat_windows.setdefault(chat_key, deque()), self.per_chat_per_second, 1.0)
            )
        chat = self._chats.get(chat_key) if isinstance(chat_key, int) else None
        if self.per_group_per_minute is not None and chat is not None and chat.kind != "private":
            windows.append(
                (self._group_windows.setdefault(chat_key, deque()), self.per_group_per_minute, 60.0)
            )
        for window, limit, period in windows:
            while window and window[0] <= now - period:
                window.popleft()
            if len(window) >= limit:
                retry_after = max(1, math.ceil(window[0] + period - now))
                self._record(self.rejections, call)
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )
        for window, _, _ in windows:
            window.append(now)

    def _serve_download(self, token: str | None, file_path: str, url: str) -> tuple[int, bytes]:
        call = FakeCall(method="download", params={"file_path": file_path}, at=self.clock())
        self._record(self.calls, call)
        try:
            self._before(call, token)
            path = unquote(urlsplit(url).path)
            for stored in self.files.values():
                if path.endswith("/" + stored.file_path):
                    call.status, call.outcome = 200, "ok"
                    return 200, stored.data
            raise ApiError(404, "Not Found")
        except ApiError as error:
            call.status, call.outcome, call.error = error.status, "error", error.description
            return error.status, error.payload()
        finally:
            self._notify()

    # ---------------------------------------------------------------- getUpdates

    async def _get_updates(self, params: JSON, read_timeout: float | None) -> list[JSON]:
        if self.webhook.url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = params.get("offset")
        if offset is not None:
            offset = int(offset)
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        poll = max(float(params.get("timeout", 0) or 0), 0.0)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._allowed_updates = list(allowed) or None
        self._poll_generation += 1
        generation = self._poll_generation
        loop = asyncio.get_running_loop()
        budget = poll if read_timeout is None else min(poll, read_timeout)
        deadline = loop.time() + budget
        while True:
            if self._down:
                raise NetworkError("httpx.ReadError: connection lost")
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            if self._updates:
                return self._updates[:limit]  # serialised into the answer at once
            remaining = deadline - loop.time()
            if remaining <= 0:
                if read_timeout is not None and poll > read_timeout:
                    raise TimedOut()
                return []
            await self._wait_change(remaining)

