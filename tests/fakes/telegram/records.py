"""What the fake Bot API records and what tests read: users, chats, their messages (as they are
now, after edits), files, calls received, callback answers, the webhook, and queued faults."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.fakes.common import JSON

BOT_ID = 777000111
BOT_USERNAME = "chatshop_test_bot"
BOT_FIRST_NAME = "Chatshop"

SENDING_PREFIXES = ("send", "edit", "copy", "forward")
"""Methods whose name starts with one of these count against the rate limits."""

INLINE_ACTIONS = (
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
        for button in iter_buttons(self.reply_markup):
            if button.get("text") == label and "callback_data" in button:
                return str(button["callback_data"])
        raise KeyError(f"no callback button {label!r} in message {self.message_id}: {self.labels}")

    @property
    def keyboard(self) -> list[list[str]]:
        """Rows of labels of the reply keyboard (the one under the input field) sent with it."""
        if not self.reply_markup or "keyboard" not in self.reply_markup:
            return []
        return [[reply_button_text(b) for b in row] for row in self.reply_markup["keyboard"]]

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
class ChatState:
    """A chat: a user's private chat with the bot, or a channel (``user`` then stands for
    the channel itself: its id, title as ``first_name``, and username; ``started``: the
    bot is a member, ``admin``: it may post)."""

    id: int
    user: FakeUser
    started: bool = False
    blocked: bool = False
    kind: Literal["private", "channel"] = "private"
    admin: bool = False
    next_message_id: int = 1
    messages: list[FakeMessage] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None

    def chat_json(self) -> JSON:
        """The ``Chat`` object, as Telegram sends it."""
        if self.kind == "private":
            return self.user.chat_json()
        data: JSON = {"id": self.id, "type": self.kind, "title": self.user.first_name}
        if self.user.username:
            data["username"] = self.user.username
        return data

    def find(self, message_id: object) -> FakeMessage | None:
        for message in self.messages:
            if message.message_id == message_id and not message.deleted:
                return message
        return None


@dataclass
class BotFault:
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



def _button_value(button: JSON) -> str:
    for action in INLINE_ACTIONS:
        if action in button:
            value = button[action]
            return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return ""


def reply_button_text(button: object) -> str:
    if isinstance(button, dict):
        return str(button.get("text", ""))
    return str(button)


def normalise_chat_id(value: object) -> int | str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text



def iter_buttons(markup: JSON | None) -> Iterable[JSON]:
    for row in (markup or {}).get("inline_keyboard", []):
        yield from row
