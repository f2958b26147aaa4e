"""The Bot API methods the fake implements (``sendMessage``, ``editMessageText``,
``answerCallbackQuery``, ``setWebhook``, ...), each checked like Telegram checks it before it
is applied to the fake's state; :class:`~tests.fakes.telegram.api.FakeBotAPI` routes calls to
them by name."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal

from tests.fakes.common import JSON
from tests.fakes.telegram.errors import NOT_MODIFIED, QUERY_TOO_OLD, ApiError, bad
from tests.fakes.telegram.parser import (
    check_location,
    check_markup,
    format_text,
    looks_like_image,
)
from tests.fakes.telegram.records import (
    ChatState,
    FakeCallbackAnswer,
    FakeDocument,
    FakeMessage,
    FakeWebhook,
    normalise_chat_id,
)
from tests.fakes.telegram.state import BotState

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

Handler = Callable[[JSON, dict[str, tuple[str, bytes, str]]], Any]


class BotMethods(BotState):
    """The methods of the Bot API, as handlers of ``(params, uploaded files)``."""

    callback_answers: list[FakeCallbackAnswer]
    webhook: FakeWebhook
    my_commands: dict[tuple[str, str], list[tuple[str, str]]]
    bot_texts: dict[tuple[str, str], str]
    _open_queries: set[str]

    def _send_message(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        chat = self._sendable_chat(params)
        text, entities = format_text(
            params.get("text"), params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        message = self._store(chat, from_bot=True, kind="text", text=text)
        message.entities, message.reply_to = entities, reply_to
        self._apply_markup(chat, message, markup)
        return message.to_json()

    def _send_photo(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        def photo() -> tuple[list[JSON], None]:
            if "photo" not in files:
                return self._photo_by_reference(params.get("photo")), None
            _, data, _ = files["photo"]
            if not data:
                raise bad("file must be non-empty")
            if len(data) > 10 * 1024 * 1024:
                raise bad("PHOTO_SAVE_FILE_INVALID")
            if not looks_like_image(data):
                raise bad("IMAGE_PROCESS_FAILED")
            return self._register_photo(data), None

        return self._send_media(params, "photo", photo)

    def _send_document(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        def document() -> tuple[list[JSON], FakeDocument]:
            if "document" not in files:
                return [], self._document_by_reference(params.get("document"))
            file_name, data, mime_type = files["document"]
            if not data:
                raise bad("file must be non-empty")
            if len(data) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            return [], self._register_document(data, file_name, mime_type)

        return self._send_media(params, "document", document)

    def _send_media(
        self, params: JSON, kind: Literal["photo", "document"],
        media: Callable[[], tuple[list[JSON], FakeDocument | None]],
    ) -> JSON:
        """A photo or document with its caption, checked in Telegram's order: the chat, the
        caption, the markup, the message replied to, then the file (photo sizes or document)
        that ``media`` checks and registers."""
        chat = self._sendable_chat(params)
        caption, entities = format_text(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        markup = check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        sizes, document = media()
        message = self._store(chat, from_bot=True, kind=kind, text=caption)
        message.entities, message.reply_to = entities, reply_to
        message.photo_sizes, message.document = sizes, document
        self._apply_markup(chat, message, markup)
        return message.to_json()

    def _send_venue(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        chat = self._sendable_chat(params)
        location = check_location(params)
        for name in ("title", "address"):
            if not str(params.get(name) or "").strip():
                raise bad(f"{name} is empty" if name in params else f'can\'t find field "{name}"')
        markup = check_markup(params.get("reply_markup"))
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
        location = check_location(params)
        markup = check_markup(params.get("reply_markup"))
        message = self._store(chat, from_bot=True, kind="location")
        message.location = location
        message.reply_to = self._reply_target(chat, params)
        self._apply_markup(chat, message, markup)
        return message.to_json()

    def _send_chat_action(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> bool:
        self._sendable_chat(params)
        if not params.get("action"):
            raise bad("action is empty" if "action" in params else 'can\'t find field "action"')
        return True

    # ---------------------------------------------------------------- editing

    def _edit_text(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        _, message = self._editable(params)
        text, entities = format_text(
            params.get("text"), params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = check_markup(params.get("reply_markup"), inline_only=True)
        if message.kind != "text":
            raise bad("there is no text in the message to edit")
        self._apply_edit(message, text, entities, markup)
        return message.to_json()

    def _edit_caption(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        _, message = self._editable(params)
        caption, entities = format_text(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        markup = check_markup(params.get("reply_markup"), inline_only=True)
        if message.kind not in ("photo", "document"):
            raise bad("there is no caption in the message to edit")
        self._apply_edit(message, caption, entities, markup)
        return message.to_json()

    def _edit_reply_markup(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> JSON:
        _, message = self._editable(params)
        markup = check_markup(params.get("reply_markup"), inline_only=True)
        self._apply_edit(message, message.text, message.entities, markup)
        return message.to_json()

    def _editable(self, params: JSON) -> tuple[ChatState, FakeMessage]:
        if "inline_message_id" in params:
            raise bad("MESSAGE_ID_INVALID")  # inline mode is not part of the fake
        chat = self._sendable_chat(params)
        message = _addressed(chat, params, "edit")
        if not message.from_bot:
            raise bad("message can't be edited")
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
            raise bad(NOT_MODIFIED)
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.edited, message.edit_date = True, int(self.wall_clock())

    def _delete_message(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> bool:
        message = _addressed(self._known_chat(params), params, "delete")
        message.deleted = True
        return True

    # ---------------------------------------------------------------- the rest

    def _answer_callback_query(
        self, params: JSON, files: dict[str, tuple[str, bytes, str]]
    ) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad("MESSAGE_TOO_LONG")
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
            raise bad("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _set_my_commands(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad('can\'t find field "commands"')
        if len(commands) > 100:
            raise bad("BOT_COMMANDS_TOO_MUCH")
        parsed: list[tuple[str, str]] = []
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name.removeprefix("/")):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
            parsed.append((name.removeprefix("/"), description))
        key = (scope_key(params.get("scope")), str(params.get("language_code") or ""))
        if parsed:
            self.my_commands[key] = parsed
        else:
            self.my_commands.pop(key, None)
        return True

    def _delete_my_commands(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> bool:
        key = (scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.my_commands.pop(key, None)
        return True

    def _get_my_commands(
        self, params: JSON, files: dict[str, tuple[str, bytes, str]]
    ) -> list[JSON]:
        key = (scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return [{"command": c, "description": d} for c, d in self.my_commands.get(key, [])]

    def _set_webhook(self, params: JSON, files: dict[str, tuple[str, bytes, str]]) -> bool:
        url = str(params.get("url", ""))
        secret = params.get("secret_token")
        if url and not url.lower().startswith("https://"):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad("secret token contains unallowed characters")
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


def scope_key(scope: object) -> str:
    if not scope:
        scope = {"type": "default"}
    return json.dumps(scope, sort_keys=True, separators=(",", ":"))


def _canonical(markup: JSON | None) -> str:
    return json.dumps(markup, sort_keys=True) if markup else ""


def _addressed(chat: ChatState, params: JSON, action: str) -> FakeMessage:
    """The message of ``chat`` that ``params`` name, to ``action`` ("edit", "delete")."""
    if "message_id" not in params:
        raise bad("message identifier is not specified")
    message = chat.find(normalise_chat_id(params["message_id"]))
    if message is None:
        raise bad(f"message to {action} not found")
    return message
