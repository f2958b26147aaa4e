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

What it does not do: Markdown/MarkdownV2 parse modes (refused with a 400 that says so), groups
and channels, inline mode, payments, media groups, and every method it does not list (answered
404 like Telegram answers an unknown method, which python-telegram-bot raises as
``InvalidToken``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from tests.fakes.changes import Changes

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput

__all__ = [
    "TINY_PNG",
    "FakeBotAPI",
    "FakeCall",
    "FakeCallbackAnswer",
    "FakeDocument",
    "FakeFile",
    "FakeMessage",
    "FakeRequest",
    "FakeUser",
    "FakeWebhook",
    "ManualTime",
    "parse_html",
]

JSON = dict[str, Any]

BOT_ID = 777000111
BOT_USERNAME = "chatshop_test_bot"
BOT_FIRST_NAME = "Chatshop"

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS = 100
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

SENDING_PREFIXES = ("send", "edit", "copy", "forward")
"""Methods whose name starts with one of these count against the rate limits."""

#: A valid 1x1 PNG, for tests that upload a photo (Telegram refuses bytes that are no image).
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e5d1d2fd0000000049454e44ae426082"
)

_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")

_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are"
    " exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active;"
    " use deleteWebhook to delete the webhook first"
)
_POLL_CONFLICT = (
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


class ManualTime:
    """A monotonic time source that only moves when told to (``clock=`` of :class:`FakeBotAPI`)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


# --------------------------------------------------------------------------------------------
# What the fake records and what tests read


@dataclass(frozen=True)
class FakeUser:
    """A Telegram user writing to the bot; their private chat has the same id."""

    id: int
    first_name: str = "Marie"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "fr"

    def to_json(self) -> JSON:
        """The ``User`` object, as Telegram sends it."""
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat_json(self) -> JSON:
        """The private ``Chat`` object with this user."""
        data: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass(frozen=True)
class FakeDocument:
    """A document in a message: its name, its bytes and how to download it again."""

    file_name: str
    data: bytes = field(repr=False)
    mime_type: str
    file_id: str
    file_unique_id: str

    def to_json(self) -> JSON:
        return {
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }


@dataclass
class FakeFile:
    """A file Telegram stores: reachable by ``getFile`` then a download of ``file_path``."""

    file_id: str
    file_unique_id: str
    data: bytes = field(repr=False)
    file_path: str
    kind: Literal["photo", "document"]
    file_name: str | None = None
    mime_type: str | None = None
    source_url: str | None = None


@dataclass
class FakeMessage:
    """A message of a chat in its current state (after edits)."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender: JSON
    chat: JSON
    kind: Literal["text", "photo", "document", "venue", "location", "contact"] = "text"
    text: str | None = None
    """The text, or the caption of a photo or document."""
    entities: list[JSON] = field(default_factory=list)
    photo_sizes: list[JSON] = field(default_factory=list)
    document: FakeDocument | None = None
    venue: JSON | None = None
    location: JSON | None = None
    contact: JSON | None = None
    reply_markup: JSON | None = None
    reply_to: FakeMessage | None = None
    edited: bool = False
    edit_date: int | None = None
    deleted: bool = False

    @property
    def photo(self) -> str | None:
        """The file_id of the largest size of the photo, if this is a photo."""
        return self.photo_sizes[-1]["file_id"] if self.photo_sizes else None

    @property
    def buttons(self) -> list[list[tuple[str, str]]]:
        """Inline keyboard rows as ``(label, callback_data or url or other action)``."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        rows: list[list[tuple[str, str]]] = []
        for row in self.reply_markup["inline_keyboard"]:
            rows.append([(b["text"], _button_value(b)) for b in row])
        return rows

    @property
    def labels(self) -> list[str]:
        """The labels of all inline buttons, row after row."""
        return [label for row in self.buttons for label, _ in row]

    def button_data(self, label: str) -> str:
        """The callback_data of the inline button with this exact label."""
        for button in _iter_buttons(self.reply_markup):
            if button.get("text") == label and "callback_data" in button:
                return str(button["callback_data"])
        raise KeyError(f"no callback button {label!r} in message {self.message_id}: {self.labels}")

    @property
    def keyboard(self) -> list[list[str]]:
        """Rows of labels of the reply keyboard (the one under the input field) sent with it."""
        if not self.reply_markup or "keyboard" not in self.reply_markup:
            return []
        return [[_reply_button_text(b) for b in row] for row in self.reply_markup["keyboard"]]

    def to_json(self, *, with_reply: bool = True) -> JSON:
        """The ``Message`` object, as the Bot API returns and sends it (sharing the
        stored parts: it is serialised at once, or copied where it is kept)."""
        data: JSON = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            data["reply_to_message"] = self.reply_to.to_json(with_reply=False)
        if self.kind == "text":
            data["text"] = self.text
            if self.entities:
                data["entities"] = (self.entities)
        elif self.text is not None:
            data["caption"] = self.text
            if self.entities:
                data["caption_entities"] = (self.entities)
        if self.photo_sizes:
            data["photo"] = (self.photo_sizes)
        if self.document is not None:
            data["document"] = self.document.to_json()
        if self.venue is not None:
            data["venue"] = (self.venue)
        if self.location is not None:
            data["location"] = (self.location)
        if self.contact is not None:
            data["contact"] = (self.contact)
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            # Only inline keyboards are part of a Message; reply keyboards stay in the client.
            data["reply_markup"] = (self.reply_markup)
        return data


@dataclass
class FakeCall:
    """One call the fake received, whatever became of it."""

    method: str
    params: JSON
    at: float
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)
    status: int | None = None
    """HTTP status answered; None when the call raised (timeout, outage)."""
    outcome: Literal["pending", "ok", "error", "timeout", "network", "cancelled"] = "pending"
    error: str | None = None
    result: Any = None
    chat_id: int | str | None = None
    """The chat addressed (an ``@username`` resolved to its id when the fake knows it)."""

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True)
class FakeCallbackAnswer:
    """What the bot answered to a button press (the small notification or alert)."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None


@dataclass
class FakeWebhook:
    """The webhook settings (secret_token is kept here; getWebhookInfo does not tell it)."""

    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    ip_address: str | None = None
    has_custom_certificate: bool = False


@dataclass
class _Chat:
    id: int
    user: FakeUser
    started: bool = False
    blocked: bool = False
    next_message_id: int = 1
    messages: list[FakeMessage] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None

    def find(self, message_id: object) -> FakeMessage | None:
        for message in self.messages:
            if message.message_id == message_id and not message.deleted:
                return message
        return None


@dataclass
class _Fault:
    kind: Literal["status", "timeout"]
    remaining: int
    method: str | None
    status: int = 500
    retry_after: int | None = None
    description: str | None = None
    applied: bool = False

    def matches(self, method: str) -> bool:
        if self.method is None:
            return method != "getUpdates"
        return self.method == method


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> bytes:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return _dump(body)


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


def _dump(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _button_value(button: JSON) -> str:
    for action in _INLINE_ACTIONS:
        if action in button:
            value = button[action]
            return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return ""


def _reply_button_text(button: object) -> str:
    if isinstance(button, dict):
        return str(button.get("text", ""))
    return str(button)


def _normalise_chat_id(value: object) -> int | str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def _copy_json(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists, scalars): what ``copy.deepcopy`` does here,
    without its memo bookkeeping, which made the fake slower than the bots it serves."""
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --------------------------------------------------------------------------------------------
# HTML parse mode, the way Telegram parses it


class HtmlParseError(ValueError):
    """Telegram's "can't parse entities" (the message is the part after the colon)."""


_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
        "tg-spoiler", "tg-emoji", "code", "pre", "blockquote",
    }
)  # fmt: skip
_HTML_SPACE = " \t\r\n\x0b\x0c"
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_SIMPLE_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode ``&...;`` at ``pos`` like Telegram: the five named ones and numeric ones only."""
    end = pos + 1
    if text.startswith("#", end):
        end += 1
        hexadecimal = text.startswith("x", end)
        if hexadecimal:
            end += 1
        start = end
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        while end < len(text) and text[end] in digits:
            end += 1
        if end == start or end - pos >= 10:
            return None
        code = int(text[start:end], 16 if hexadecimal else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        if name not in _HTML_NAMED:
            return None
        char = _HTML_NAMED[name]
    if text.startswith(";", end):
        end += 1
    return char, end


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Parse ``parse_mode="HTML"`` text into plain text and entities (UTF-16 offsets).

    Raises :class:`HtmlParseError` with Telegram's wording ("Unsupported start tag "br" at byte
    offset 5", "Can't find end tag corresponding to start tag "b"", ...).
    """

    if "<" not in text and "&" not in text:
        return text, []  # plain text: nothing to parse

    def byte_offset(index: int) -> int:
        return len(text[:index].encode("utf-8"))

    out: list[str] = []
    utf16 = 0
    entities: list[JSON] = []
    open_tags: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 start, out index
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                utf16 += _utf16_len(decoded[0])
                i = decoded[1]
                continue
        if char != "<":
            out.append(char)
            utf16 += _utf16_len(char)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            if not open_tags:
                raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            i += 1
            name_start = i
            while i < n and text[i] not in _HTML_SPACE and text[i] != ">":
                i += 1
            end_name = text[name_start:i].lower()
            while i < n and text[i] in _HTML_SPACE:
                i += 1
            if i >= n or text[i] != ">":
                raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            tag, argument, start, out_index = open_tags.pop()
            if end_name and end_name != tag:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {byte_offset(begin)},"
                    f' expected "</{tag}>", found "</{end_name}>"'
                )
            if utf16 > start:
                entity = _html_entity(tag, argument, start, utf16 - start, "".join(out[out_index:]))
                if entity is not None:
                    entities.append(entity)
            i += 1
            continue
        name_start = i
        while i < n and text[i] not in _HTML_SPACE and text[i] != ">":
            i += 1
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        tag = text[name_start:i].lower()
        if tag not in _HTML_TAGS:
            raise HtmlParseError(
                f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}'
            )
        argument, i = _html_attributes(text, i, tag, begin, byte_offset)
        if tag == "span" and argument != "spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
            )
        open_tags.append((tag, argument, utf16, len(out)))
        i += 1
    if open_tags:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _html_attributes(
    text: str, i: int, tag: str, begin: int, byte_offset: Callable[[int], int]
) -> tuple[str, int]:
    """Read the attributes of a start tag from ``i``; return (argument, index of ``>``)."""
    n = len(text)
    argument = ""
    while True:
        while i < n and text[i] in _HTML_SPACE:
            i += 1
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        if text[i] == ">":
            return argument, i
        name_start = i
        while i < n and text[i] not in _HTML_SPACE and text[i] not in "=>":
            i += 1
        name = text[name_start:i].lower()
        if not name:
            raise HtmlParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(name_start)}'
            )
        while i < n and text[i] in _HTML_SPACE:
            i += 1
        if tag == "blockquote" and name == "expandable" and (i >= n or text[i] != "="):
            argument = "expandable"
            continue
        if i >= n or text[i] != "=":
            raise HtmlParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}"'
                f" at byte offset {byte_offset(name_start)}"
            )
        i += 1
        while i < n and text[i] in _HTML_SPACE:
            i += 1
        if i >= n:
            raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
        value: list[str] = []
        if text[i] in "'\"":
            quote = text[i]
            i += 1
            while i < n and text[i] != quote:
                decoded = _decode_html_entity(text, i) if text[i] == "&" else None
                if decoded is not None:
                    value.append(decoded[0])
                    i = decoded[1]
                else:
                    value.append(text[i])
                    i += 1
            if i < n:
                i += 1
        else:
            token_start = i
            while i < n and ((text[i].isascii() and text[i].isalnum()) or text[i] in ".-"):
                i += 1
            value.append(text[token_start:i].lower())
            if i < n and text[i] not in _HTML_SPACE and text[i] != ">":
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {byte_offset(token_start)}"
                )
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        joined = "".join(value)
        if (tag == "a" and name == "href") or (tag == "tg-emoji" and name == "emoji-id"):
            argument = joined
        elif tag == "code" and name == "class" and joined.startswith("language-"):
            argument = joined.removeprefix("language-")
        elif tag == "span" and name == "class" and joined.startswith("tg-"):
            argument = joined.removeprefix("tg-")


def _html_entity(tag: str, argument: str, offset: int, length: int, content: str) -> JSON | None:
    entity: JSON = {"offset": offset, "length": length}
    if tag in _SIMPLE_ENTITY:
        entity["type"] = _SIMPLE_ENTITY[tag]
    elif tag == "a":
        url = argument or content
        if not re.match(r"(https?|tg)://\S+", url) and not re.fullmatch(r"[\w.-]+\.\w+\S*", url):
            return None  # Telegram silently drops links it cannot use
        entity.update(type="text_link", url=url)
    elif tag == "code":
        entity["type"] = "pre" if argument else "code"
        if argument:
            entity["language"] = argument
    elif tag == "pre":
        entity["type"] = "pre"
    elif tag == "blockquote":
        entity["type"] = "expandable_blockquote" if argument == "expandable" else "blockquote"
    elif tag == "tg-emoji":
        if not argument.isdigit():
            raise HtmlParseError("Invalid custom emoji identifier specified")
        entity.update(type="custom_emoji", custom_emoji_id=argument)
    return entity


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram trims whitespace around a text; entities follow the text they cover."""
    lead = _utf16_len(text[: len(text) - len(text.lstrip(_HTML_SPACE))])
    trimmed = text.strip(_HTML_SPACE)
    total = _utf16_len(trimmed)
    kept: list[JSON] = []
    for entity in entities:
        start = max(int(entity.get("offset", 0)) - lead, 0)
        end = min(int(entity.get("offset", 0)) + int(entity.get("length", 0)) - lead, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return trimmed, kept


def _command_entities(text: str) -> list[JSON]:
    """bot_command entities of a text a user types (``/start p_12``)."""
    entities: list[JSON] = []
    for match in re.finditer(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?", text):
        entities.append(
            {
                "type": "bot_command",
                "offset": _utf16_len(text[: match.start()]),
                "length": _utf16_len(match.group()),
            }
        )
    return entities


# --------------------------------------------------------------------------------------------
# The HTTP layer python-telegram-bot talks to


class FakeRequest(BaseRequest):
    """A ``BaseRequest`` that hands every request to a :class:`FakeBotAPI`, in process."""

    __slots__ = ("_api", "_closed", "_read_timeout")

    def __init__(self, api: FakeBotAPI, read_timeout: float | None = 5.0) -> None:
        self._api = api
        self._read_timeout = read_timeout
        self._closed = False

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        self._closed = False

    async def shutdown(self) -> None:
        self._closed = True

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._closed:
            # Like HTTPXRequest once shut down (python-telegram-bot wraps it in NetworkError).
            raise RuntimeError("This FakeRequest is not initialized!")
        effective = self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        return await self._api.serve(
            url, method, request_data, effective if isinstance(effective, int | float) else None
        )


# --------------------------------------------------------------------------------------------
# The fake Bot API


Handler = Callable[[JSON, dict[str, tuple[str, bytes, str]]], Any]


class FakeBotAPI:
    """The state of a fake Telegram: the bot, its chats and their messages, files, updates,
    webhook, commands, every call received, and the faults to inject."""

    def __init__(
        self,
        *,
        token: str | None = None,
        global_per_second: int | None = 30,
        per_chat_per_second: int | None = None,
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
        self.token = token
        self.keep_history = keep_history
        self.global_per_second = global_per_second
        self.per_chat_per_second = per_chat_per_second
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
        self._chats: dict[int, _Chat] = {}
        self._updates: list[JSON] = []
        self._next_update_id = 100001
        self._allowed_updates: list[str] | None = None
        self._faults: list[_Fault] = []
        self._down = False
        self._window: deque[float] = deque()
        self._chat_windows: dict[object, deque[float]] = {}
        self._open_queries: set[str] = set()
        self._photo_groups: dict[str, list[JSON]] = {}
        self._ids = itertools.count(1)
        self._changes = Changes()
        self._poll_generation = 0
        self._handlers: dict[str, Handler] = {
            "getMe": lambda p, f: _copy_json(self.bot_user),
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
        self._faults.append(
            _Fault("status", times, method, status, retry_after, description=description)
        )

    def timeout_next(
        self, times: int = 1, method: str | None = None, *, applied: bool = False
    ) -> None:
        """The next ``times`` calls of ``method`` (None: any but getUpdates) raise ``TimedOut``.
        ``applied=True``: the call is carried out before the response is lost, as happens when a
        timeout strikes after Telegram received the request (the message *was* delivered)."""
        self._faults.append(_Fault("timeout", times, method, applied=applied))

    def go_down(self) -> None:
        """An outage: every call raises ``NetworkError`` until :meth:`come_back`."""
        self._down = True
        self._notify()

    def come_back(self) -> None:
        self._down = False
        self._notify()

    @property
    def is_down(self) -> bool:
        return self._down

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
            self._chats[user_id] = _Chat(id=user_id, user=person, started=started)
        else:
            chat.user = person
            chat.started = chat.started or started
        return person

    def send_text(self, user: FakeUser | int, text: str) -> JSON:
        """The user sends a text (``/commands`` get their bot_command entities)."""
        chat = self._inbound(user)
        message = self._store(chat, from_bot=False, kind="text", text=text)
        message.entities = _command_entities(text)
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
        datas = [b.get("callback_data") for b in _iter_buttons(message.reply_markup)]
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

    def _record(self, records: list[Any], record: Any) -> None:
        records.append(record)
        if self.keep_history is not None and len(records) > self.keep_history:
            del records[:len(records) - self.keep_history]

    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by a getUpdates offset."""
        return _copy_json(self._updates)

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
        return list(self.my_commands.get((_scope_key(scope), language_code), []))

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline, not a cancellation scope
    ) -> Any:
        """Wait until ``predicate()`` is truthy and return its value. Re-checked after every call
        the fake receives, every update pushed, and every 20 ms (for state outside the fake).
        A predicate that raises counts as false; on timeout its last error is raised."""
        return await self._changes.until(predicate, timeout, lambda: "last calls: " + ", ".join(
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
        token, method, file_path = _parse_url(url)
        if http_method.upper() == "GET" or file_path is not None:
            return self._serve_download(token, file_path or "", url)
        # python-telegram-bot builds these afresh for every request: kept as they are.
        params: JSON = dict(request_data.parameters) if request_data else {}
        if request_data is not None:
            _ = request_data.json_parameters  # what goes on the wire must be JSON-encodable
        files = _uploaded_files(request_data)
        call = FakeCall(method, params, self.clock(), files, chat_id=self._target(params))
        self._record(self.calls, call)
        try:
            fault = self._before(call, token)
            if method == "getUpdates":
                result = await self._get_updates(params, read_timeout)
            else:
                handler = self._handlers.get(method)
                if handler is None:
                    raise _unknown_method(method)
                if method.startswith(SENDING_PREFIXES):
                    self._check_rate(call)
                result = handler(params, files)
            if fault is not None and fault.kind == "timeout":
                call.outcome, call.result = "timeout", result
                raise TimedOut()
            call.status, call.outcome, call.result = 200, "ok", result
            return 200, _dump({"ok": True, "result": result})
        except _ApiError as error:
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

    def _before(self, call: FakeCall, token: str | None) -> _Fault | None:
        """Outage, injected faults and the token, before anything is applied."""
        if self._down:
            call.outcome = "network"
            raise NetworkError("httpx.ConnectError: [Errno 111] Connection refused")
        fault = self._take_fault(call.method)
        if fault is not None and fault.kind == "timeout" and not fault.applied:
            call.outcome = "timeout"
            raise TimedOut()
        if fault is not None and fault.kind == "status":
            raise _injected_error(fault)
        if self.token is not None and token != self.token:
            raise _ApiError(401, "Unauthorized")
        return fault

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _check_rate(self, call: FakeCall) -> None:
        now = self.clock()
        chat_key = call.chat_id
        windows: list[tuple[deque[float], int]] = []
        if self.global_per_second is not None:
            windows.append((self._window, self.global_per_second))
        if self.per_chat_per_second is not None and chat_key is not None:
            windows.append(
                (self._chat_windows.setdefault(chat_key, deque()), self.per_chat_per_second)
            )
        for window, limit in windows:
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limit:
                retry_after = max(1, math.ceil(window[0] + 1.0 - now))
                self._record(self.rejections, call)
                raise _ApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )
        for window, _ in windows:
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
            raise _ApiError(404, "Not Found")
        except _ApiError as error:
            call.status, call.outcome, call.error = error.status, "error", error.description
            return error.status, error.payload()
        finally:
            self._notify()

    # ---------------------------------------------------------------- getUpdates

    async def _get_updates(self, params: JSON, read_timeout: float | None) -> list[JSON]:
        if self.webhook.url:
            raise _ApiError(409, _WEBHOOK_CONFLICT)
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
                raise _ApiError(409, _POLL_CONFLICT)
            if self._updates:
                return self._updates[:limit]  # serialised into the answer at once
            remaining = deadline - loop.time()
            if remaining <= 0:
                if read_timeout is not None and poll > read_timeout:
                    raise TimedOut()
                return []
            await self._wait_change(remaining)

    # ---------------------------------------------------------------- sending

    def _send_message(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        chat = self._sendable_chat(params)
        text, entities = _format(
            params.get("text"), params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = _check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        message = self._store(chat, from_bot=True, kind="text", text=text)
        message.entities, message.reply_to = entities, reply_to
        self._apply_markup(chat, message, markup)
        return message.to_json()

    def _send_photo(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        chat = self._sendable_chat(params)
        caption, entities = _format(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        markup = _check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        if "photo" in files:
            _, data, _ = files["photo"]
            if not data:
                raise _bad("file must be non-empty")
            if len(data) > 10 * 1024 * 1024:
                raise _bad("PHOTO_SAVE_FILE_INVALID")
            if not _looks_like_image(data):
                raise _bad("IMAGE_PROCESS_FAILED")
            sizes = self._register_photo(data)
        else:
            sizes = self._photo_by_reference(params.get("photo"))
        message = self._store(chat, from_bot=True, kind="photo", text=caption)
        message.entities, message.reply_to, message.photo_sizes = entities, reply_to, sizes
        self._apply_markup(chat, message, markup)
        return message.to_json()

    def _send_document(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        chat = self._sendable_chat(params)
        caption, entities = _format(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        markup = _check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        if "document" in files:
            file_name, data, mime_type = files["document"]
            if not data:
                raise _bad("file must be non-empty")
            if len(data) > MAX_UPLOAD_BYTES:
                raise _ApiError(413, "Request Entity Too Large")
            document = self._register_document(data, file_name, mime_type)
        else:
            document = self._document_by_reference(params.get("document"))
        message = self._store(chat, from_bot=True, kind="document", text=caption)
        message.entities, message.reply_to, message.document = entities, reply_to, document
        self._apply_markup(chat, message, markup)
        return message.to_json()

    def _send_venue(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        chat = self._sendable_chat(params)
        location = _location(params)
        for name in ("title", "address"):
            if not str(params.get(name) or "").strip():
                raise _bad(f"{name} is empty" if name in params else f'can\'t find field "{name}"')
        markup = _check_markup(params.get("reply_markup"))
        message = self._store(chat, from_bot=True, kind="venue")
        message.venue = {
            "location": location,
            "title": params["title"],
            "address": params["address"],
        }
        for optional in (
            "foursquare_id",
            "foursquare_type",
            "google_place_id",
            "google_place_type",
        ):
            if optional in params:
                message.venue[optional] = params[optional]
        message.location = location
        message.reply_to = self._reply_target(chat, params)
        self._apply_markup(chat, message, markup)
        return message.to_json()

    def _send_location(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        chat = self._sendable_chat(params)
        location = _location(params)
        markup = _check_markup(params.get("reply_markup"))
        message = self._store(chat, from_bot=True, kind="location")
        message.location = location
        message.reply_to = self._reply_target(chat, params)
        self._apply_markup(chat, message, markup)
        return message.to_json()

    def _send_chat_action(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> bool:
        self._sendable_chat(params)
        if not params.get("action"):
            raise _bad("action is empty" if "action" in params else 'can\'t find field "action"')
        return True

    # ---------------------------------------------------------------- editing

    def _edit_text(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        _, message = self._editable(params)
        text, entities = _format(
            params.get("text"), params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = _check_markup(params.get("reply_markup"), inline_only=True)
        if message.kind != "text":
            raise _bad("there is no text in the message to edit")
        self._apply_edit(message, text, entities, markup)
        return message.to_json()

    def _edit_caption(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        _, message = self._editable(params)
        caption, entities = _format(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        markup = _check_markup(params.get("reply_markup"), inline_only=True)
        if message.kind not in ("photo", "document"):
            raise _bad("there is no caption in the message to edit")
        self._apply_edit(message, caption, entities, markup)
        return message.to_json()

    def _edit_reply_markup(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        _, message = self._editable(params)
        markup = _check_markup(params.get("reply_markup"), inline_only=True)
        self._apply_edit(message, message.text, message.entities, markup)
        return message.to_json()

    def _editable(self, params: JSON) -> tuple[_Chat, FakeMessage]:
        if "inline_message_id" in params:
            raise _bad("MESSAGE_ID_INVALID")  # inline mode is not part of the fake
        chat = self._sendable_chat(params)
        if "message_id" not in params:
            raise _bad("message identifier is not specified")
        message = chat.find(_as_id(params["message_id"]))
        if message is None:
            raise _bad("message to edit not found")
        if not message.from_bot:
            raise _bad("message can't be edited")
        return chat, message

    def _apply_edit(
        self, message: FakeMessage, text: str | None, entities: list[JSON], markup: JSON | None
    ) -> None:
        # Without reply_markup an edit removes the inline keyboard, as on Telegram.
        if (
            text == message.text
            and entities == message.entities
            and _canonical(markup) == _canonical(message.reply_markup)
        ):
            raise _bad(_NOT_MODIFIED)
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.edited, message.edit_date = True, int(self.wall_clock())

    def _delete_message(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> bool:
        chat = self._known_chat(params)
        if "message_id" not in params:
            raise _bad("message identifier is not specified")
        message = chat.find(_as_id(params["message_id"]))
        if message is None:
            raise _bad("message to delete not found")
        message.deleted = True
        return True

    # ---------------------------------------------------------------- the rest

    def _answer_callback_query(
        self, params: JSON, files: dict[str, tuple[str, bytes, str]]
    ) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_queries:
            raise _ApiError(400, _QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        self._record(
            self.callback_answers,
            FakeCallbackAnswer(
                query_id,
                None if text is None else str(text),
                bool(params.get("show_alert", False)),
                params.get("url"),
            )
        )
        return True

    def _get_file(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        stored = self.files.get(str(params.get("file_id", "")))
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _set_my_commands(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad('can\'t find field "commands"')
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        parsed: list[tuple[str, str]] = []
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name.removeprefix("/")):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            parsed.append((name.removeprefix("/"), description))
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        if parsed:
            self.my_commands[key] = parsed
        else:
            self.my_commands.pop(key, None)
        return True

    def _delete_my_commands(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> bool:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.my_commands.pop(key, None)
        return True

    def _get_my_commands(
        self, params: JSON, files: dict[str, tuple[str, bytes, str]]
    ) -> list[JSON]:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return [{"command": c, "description": d} for c, d in self.my_commands.get(key, [])]

    def _set_webhook(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> bool:
        url = str(params.get("url", ""))
        secret = params.get("secret_token")
        if url and not url.lower().startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = FakeWebhook(
            url=url,
            secret_token=None if secret is None else str(secret),
            max_connections=int(params.get("max_connections", 40)),
            allowed_updates=params.get("allowed_updates"),
            ip_address=params.get("ip_address"),
            has_custom_certificate="certificate" in files,
        )
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"]) or None
        return True

    def _delete_webhook(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = FakeWebhook()
        return True

    def _get_webhook_info(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        info: JSON = {
            "url": self.webhook.url,
            "has_custom_certificate": self.webhook.has_custom_certificate,
            "pending_update_count": len(self._updates),
        }
        if self.webhook.url:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.ip_address:
                info["ip_address"] = self.webhook.ip_address
            if self.webhook.allowed_updates is not None:
                info["allowed_updates"] = self.webhook.allowed_updates
        return info

    def _bot_text_setter(self, name: str) -> Handler:
        def handler(params: JSON, files: dict[str, tuple[str, bytes, str]]) -> bool:
            language = str(params.get("language_code") or "")
            value = str(params.get(name) or "")
            if value:
                self.bot_texts[(name, language)] = value
            else:
                self.bot_texts.pop((name, language), None)
            return True

        return handler

    def _bot_text_getter(self, name: str) -> Handler:
        def handler(params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
            language = str(params.get("language_code") or "")
            default = self.bot_user["first_name"] if name == "name" else ""
            return {name: self.bot_texts.get((name, language), default)}

        return handler

    # ---------------------------------------------------------------- helpers

    def _chat_key(self, chat: int | FakeUser) -> int:
        return chat.id if isinstance(chat, FakeUser) else int(chat)

    def _chat(self, chat: int | FakeUser) -> _Chat:
        key = self._chat_key(chat)
        if key not in self._chats:
            if isinstance(chat, FakeUser):
                self._chats[key] = _Chat(id=key, user=chat)
            else:
                raise KeyError(f"no chat {key}: create its user with api.user({key})")
        return self._chats[key]

    def _message(self, chat: int | FakeUser, message_id: int) -> FakeMessage:
        message = self._chat(chat).find(message_id)
        if message is None:
            raise KeyError(f"no message {message_id} in chat {self._chat_key(chat)}")
        return message

    def _inbound(self, user: FakeUser | int) -> _Chat:
        chat = self._chat(user)
        chat.started, chat.blocked = True, False
        return chat

    def _known_chat(self, params: JSON) -> _Chat:
        if params.get("chat_id") in (None, ""):
            raise _bad("chat_id is empty")
        key = _normalise_chat_id(params["chat_id"])
        if isinstance(key, str):
            for chat in self._chats.values():
                if chat.user.username and key.lower() == "@" + chat.user.username.lower():
                    return chat
            raise _bad("chat not found")
        found = self._chats.get(key)
        if found is None:
            raise _bad("chat not found")
        return found

    def _target(self, params: JSON) -> int | str | None:
        if params.get("chat_id") in (None, ""):
            return None
        try:
            return self._known_chat(params).id
        except _ApiError:
            return _normalise_chat_id(params["chat_id"])

    def _bot_as_sender(self) -> JSON:
        return {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}

    def _sendable_chat(self, params: JSON) -> _Chat:
        chat = self._known_chat(params)
        if chat.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if not chat.started:
            raise _ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _reply_target(self, chat: _Chat, params: JSON) -> FakeMessage | None:
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict) or "message_id" not in reply:
            return None
        target = chat.find(_as_id(reply["message_id"]))
        if target is None and not reply.get("allow_sending_without_reply"):
            raise _bad("message to be replied not found")
        return target

    def _store(
        self, chat: _Chat, *, from_bot: bool, kind: Any, text: str | None = None
    ) -> FakeMessage:
        message = FakeMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id,
            date=int(self.wall_clock()),
            from_bot=from_bot,
            sender=self._bot_as_sender() if from_bot else chat.user.to_json(),
            chat=chat.user.chat_json(),
            kind=kind,
            text=text,
        )
        chat.next_message_id += 1
        self._record(chat.messages, message)
        return message

    def _apply_markup(self, chat: _Chat, message: FakeMessage, markup: JSON | None) -> None:
        message.reply_markup = markup
        if markup is None:
            return
        if "keyboard" in markup:
            chat.reply_keyboard = message.keyboard
        elif markup.get("remove_keyboard"):
            chat.reply_keyboard = None

    def _push(self, payload: JSON) -> JSON:
        update: JSON = {"update_id": self._next_update_id, **_copy_json(payload)}
        self._next_update_id += 1
        kind = next(iter(payload))
        default_excluded = {"chat_member", "message_reaction", "message_reaction_count"}
        allowed = self._allowed_updates
        if (kind in allowed) if allowed else (kind not in default_excluded):
            self._updates.append(update)
        self._notify()
        return _copy_json(update)

    def _push_member_change(self, chat: _Chat, old: str, new: str) -> None:
        bot = self._bot_as_sender()
        new_member: JSON = {"user": bot, "status": new}
        if new == "kicked":
            new_member["until_date"] = 0
        self._push(
            {
                "my_chat_member": {
                    "chat": chat.user.chat_json(),
                    "from": chat.user.to_json(),
                    "date": int(self.wall_clock()),
                    "old_chat_member": {"user": bot, "status": old},
                    "new_chat_member": new_member,
                }
            }
        )

    def _new_ids(self, prefix: str) -> tuple[int, str, str]:
        number = next(self._ids)
        return number, f"{prefix}AAxkBAAI{number:07d}", f"AQAD{number:07d}"

    def _register_photo(self, data: bytes, source_url: str | None = None) -> list[JSON]:
        sizes: list[JSON] = []
        for width in (90, 320, 800):
            number, file_id, unique = self._new_ids("AgACAgQ")
            path = f"photos/file_{number}.jpg"
            self.files[file_id] = FakeFile(
                file_id, unique, data, path, "photo", mime_type="image/jpeg", source_url=source_url
            )
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": unique,
                    "file_size": len(data),
                    "width": width,
                    "height": width * 3 // 4,
                }
            )
        for size in sizes:
            self._photo_groups[size["file_id"]] = sizes
        return _copy_json(sizes)

    def _register_document(self, data: bytes, file_name: str, mime_type: str) -> FakeDocument:
        number, file_id, unique = self._new_ids("BQACAgQ")
        suffix = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        path = f"documents/file_{number}.{suffix}"
        self.files[file_id] = FakeFile(
            file_id, unique, data, path, "document", file_name=file_name, mime_type=mime_type
        )
        return FakeDocument(file_name, data, mime_type, file_id, unique)

    def _photo_by_reference(self, reference: object) -> list[JSON]:
        if not reference:
            raise _bad("there is no photo in the request")
        ref = str(reference)
        if ref.startswith(("http://", "https://")):
            return self._register_photo(b"", source_url=ref)
        stored = self.files.get(ref)
        if stored is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        if stored.kind != "photo":
            raise _bad(f"can't use file of type {stored.kind.capitalize()} as Photo")
        return _copy_json(self._photo_groups[ref])

    def _document_by_reference(self, reference: object) -> FakeDocument:
        if not reference:
            raise _bad("there is no document in the request")
        stored = self.files.get(str(reference))
        if stored is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        if stored.kind != "document":
            raise _bad(f"can't use file of type {stored.kind.capitalize()} as Document")
        return FakeDocument(
            stored.file_name or "file",
            stored.data,
            stored.mime_type or "application/octet-stream",
            stored.file_id,
            stored.file_unique_id,
        )

    def _notify(self) -> None:
        self._changes.notify()

    async def _wait_change(self, seconds: float) -> None:
        await self._changes.wait(seconds)


# --------------------------------------------------------------------------------------------
# Module-level helpers


def _parse_url(url: str) -> tuple[str | None, str, str | None]:
    """(token, API method, file path) of a Bot API URL; file path only for file downloads."""
    path = unquote(urlsplit(url).path)
    download = re.search(r"/file/bot([^/]+)/(.+)$", path)
    if download:
        return download.group(1), "download", download.group(2)
    call = re.search(r"/bot([^/]+)/([^/]+)$", path)
    if call:
        return call.group(1), call.group(2), None
    return None, path.rstrip("/").rsplit("/", 1)[-1], None


def _uploaded_files(request_data: RequestData | None) -> dict[str, tuple[str, bytes, str]]:
    if request_data is None or not request_data.contains_files:
        return {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for name, (file_name, content, mime_type) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        files[name] = (file_name, bytes(data), mime_type)
    return files


def _unknown_method(method: str) -> _ApiError:
    real = method[:1].islower() and callable(getattr(Bot, method, None))
    if real:
        return _ApiError(404, f"Not Found: the fake Bot API does not implement {method}")
    return _ApiError(404, "Not Found")


def _injected_error(fault: _Fault) -> _ApiError:
    status = fault.status
    if status == 429:
        retry_after = fault.retry_after or 1
        description = fault.description or f"Too Many Requests: retry after {retry_after}"
        return _ApiError(429, description, {"retry_after": retry_after})
    description = fault.description or _PHRASES.get(status, "Internal Server Error")
    parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
    return _ApiError(status, description, parameters)


def _as_id(value: object) -> object:
    return _normalise_chat_id(value)


def _scope_key(scope: object) -> str:
    if not scope:
        scope = {"type": "default"}
    return json.dumps(scope, sort_keys=True, separators=(",", ":"))


def _canonical(markup: JSON | None) -> str:
    return json.dumps(markup, sort_keys=True) if markup else ""


def _looks_like_image(data: bytes) -> bool:
    if data.startswith(_IMAGE_MAGIC):
        return True
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def _location(params: JSON) -> JSON:
    location: JSON = {}
    for name, bound in (("latitude", 90.0), ("longitude", 180.0)):
        if name not in params:
            raise _bad(f'can\'t find field "{name}"')
        try:
            value = float(params[name])
        except (TypeError, ValueError):
            raise _bad(f'field "{name}" must be a valid Number') from None
        if not -bound <= value <= bound:
            raise _bad(f"wrong {name}")
        location[name] = value
    return location


def _format(
    raw: object, parse_mode: object, entities: object, *, caption: bool
) -> tuple[str | None, list[JSON]]:
    """Text or caption after entity parsing and trimming, within Telegram's lengths."""
    if raw is None or raw == "":
        if caption:
            return None, []
        raise _bad("message text is empty")
    text = str(raw)
    if parse_mode:
        mode = str(parse_mode).lower()
        if mode == "html":
            try:
                text, parsed = parse_html(text)
            except HtmlParseError as error:
                raise _bad(f"can't parse entities: {error}") from None
        elif mode in ("markdown", "markdownv2"):
            raise _bad(f"the fake Bot API does not implement parse_mode {parse_mode}; use HTML")
        else:
            raise _bad("unsupported parse_mode")
    else:
        parsed = [dict(e) for e in entities] if isinstance(entities, list) else []
    text, parsed = _trim(text, parsed)
    if not text:
        if caption:
            return None, []
        raise _bad("text must be non-empty")
    if caption and len(text) > MAX_CAPTION:
        raise _bad("message caption is too long")
    if not caption and len(text) > MAX_TEXT:
        raise _bad("message is too long")
    return text, parsed


def _check_markup(markup: object, *, inline_only: bool = False) -> JSON | None:
    """Validate a reply_markup like Telegram; return it (a copy) or None."""
    if markup is None:
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            raise _bad("can't parse reply keyboard markup JSON object") from None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif inline_only:
        raise _bad("inline keyboard expected")
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad('field "keyboard" must be of type Array')
        for row in rows:
            for button in row:
                if isinstance(button, dict) and "text" not in button:
                    raise _bad("can't parse keyboard button: Can't find field \"text\"")
                if not _reply_button_text(button).strip():
                    raise _bad("BUTTON_TEXT_INVALID")
    elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
        raise _bad("can't parse reply keyboard markup JSON object")
    return _copy_json(markup)


def _check_inline_keyboard(rows: object) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise _bad('field "inline_keyboard" must be of type Array')
    count = 0
    for row in rows:
        for button in row:
            count += 1
            _check_inline_button(button)
    if count > MAX_BUTTONS:
        raise _bad("reply markup is too long")


def _check_inline_button(button: object) -> None:
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise _bad(prefix + "InlineKeyboardButton must be an Object")
    if "text" not in button:
        raise _bad(prefix + 'Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise _bad(prefix + 'Field "text" must be of type String')
    if not button["text"].strip():
        raise _bad("BUTTON_TEXT_INVALID")
    actions = [a for a in _INLINE_ACTIONS if button.get(a) not in (None, "", False)]
    if not actions:
        raise _bad(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        # Telegram silently keeps one of them; the fake is stricter so the mistake shows.
        raise _bad(prefix + f"the fake Bot API wants exactly one action, got {', '.join(actions)}")
    if "callback_data" in actions:
        data = button["callback_data"]
        if not isinstance(data, str) or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in actions:
        _check_button_url(str(button["url"]))


def _check_button_url(url: str) -> None:
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.scheme not in ("http", "https", "tg"):
        raise _bad(f"inline keyboard button URL '{url}' is invalid: Unsupported URL protocol")
    host = parts.hostname or ""
    if parts.scheme != "tg" and "." not in host and host != "localhost":
        raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _iter_buttons(markup: JSON | None) -> Iterable[JSON]:
    for row in (markup or {}).get("inline_keyboard", []):
        yield from row
