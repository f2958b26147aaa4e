"""The state the fake Bot API keeps and how it is reached: chats by id or ``@username``, who
may be written to (blocked, never started), messages stored and their markups, updates
pushed, and files registered (photos in three sizes, documents) for ``getFile`` and downloads.

:class:`BotState` is the base of :class:`~tests.fakes.telegram.api.FakeBotAPI`, which sets
these attributes; the Bot API methods (tests/fakes/telegram/methods.py) and the serving side
(tests/fakes/telegram/api.py) both work through it."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from tests.fakes.common import JSON, FakePlatform, copy_json
from tests.fakes.telegram.errors import ApiError, bad
from tests.fakes.telegram.records import (
    BotFault,
    ChatState,
    FakeDocument,
    FakeFile,
    FakeMessage,
    FakeUser,
    normalise_chat_id,
)


class BotState(FakePlatform[BotFault]):
    """Chats, messages, updates and files of a fake Telegram, and the helpers that reach them."""

    keep_history: int | None
    wall_clock: Callable[[], float]
    bot_user: JSON
    files: dict[str, FakeFile]
    _chats: dict[int, ChatState]
    _updates: list[JSON]
    _next_update_id: int
    _allowed_updates: list[str] | None
    _photo_groups: dict[str, list[JSON]]
    _ids: itertools.count[int]

    def _record(self, records: list[Any], record: Any) -> None:
        records.append(record)
        if self.keep_history is not None and len(records) > self.keep_history:
            del records[:len(records) - self.keep_history]

    def _chat_key(self, chat: int | FakeUser) -> int:
        return chat.id if isinstance(chat, FakeUser) else int(chat)

    def _chat(self, chat: int | FakeUser) -> ChatState:
        key = self._chat_key(chat)
        if key not in self._chats:
            if isinstance(chat, FakeUser):
                self._chats[key] = ChatState(id=key, user=chat)
            else:
                raise KeyError(f"no chat {key}: create its user with api.user({key})")
        return self._chats[key]

    def _message(self, chat: int | FakeUser, message_id: int) -> FakeMessage:
        message = self._chat(chat).find(message_id)
        if message is None:
            raise KeyError(f"no message {message_id} in chat {self._chat_key(chat)}")
        return message

    def _inbound(self, user: FakeUser | int) -> ChatState:
        chat = self._chat(user)
        chat.started, chat.blocked = True, False
        return chat

    def _known_chat(self, params: JSON) -> ChatState:
        if params.get("chat_id") in (None, ""):
            raise bad("chat_id is empty")
        key = normalise_chat_id(params["chat_id"])
        if isinstance(key, str):
            for chat in self._chats.values():
                if chat.user.username and key.lower() == "@" + chat.user.username.lower():
                    return chat
            raise bad("chat not found")
        found = self._chats.get(key)
        if found is None:
            raise bad("chat not found")
        return found

    def _target(self, params: JSON) -> int | str | None:
        if params.get("chat_id") in (None, ""):
            return None
        try:
            return self._known_chat(params).id
        except ApiError:
            return normalise_chat_id(params["chat_id"])

    def _bot_as_sender(self) -> JSON:
        return {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}

    def _sendable_chat(self, params: JSON) -> ChatState:
        chat = self._known_chat(params)
        if chat.kind == "channel":
            if not chat.started:
                raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
            if not chat.admin:
                raise bad("need administrator rights in the channel chat")
            return chat
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if not chat.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _reply_target(self, chat: ChatState, params: JSON) -> FakeMessage | None:
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict) or "message_id" not in reply:
            return None
        target = chat.find(normalise_chat_id(reply["message_id"]))
        if target is None and not reply.get("allow_sending_without_reply"):
            raise bad("message to be replied not found")
        return target

    def _store(
        self, chat: ChatState, *, from_bot: bool, kind: Any, text: str | None = None
    ) -> FakeMessage:
        message = FakeMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id,
            date=int(self.wall_clock()),
            from_bot=from_bot,
            sender=self._bot_as_sender() if from_bot else chat.user.to_json(),
            chat=chat.chat_json(),
            kind=kind,
            text=text,
        )
        chat.next_message_id += 1
        self._record(chat.messages, message)
        return message

    def _apply_markup(self, chat: ChatState, message: FakeMessage, markup: JSON | None) -> None:
        message.reply_markup = markup
        if markup is None:
            return
        if "keyboard" in markup:
            chat.reply_keyboard = message.keyboard
        elif markup.get("remove_keyboard"):
            chat.reply_keyboard = None

    def _push(self, payload: JSON) -> JSON:
        update: JSON = {"update_id": self._next_update_id, **copy_json(payload)}
        self._next_update_id += 1
        kind = next(iter(payload))
        default_excluded = {"chat_member", "message_reaction", "message_reaction_count"}
        allowed = self._allowed_updates
        if (kind in allowed) if allowed else (kind not in default_excluded):
            self._updates.append(update)
        self._notify()
        return copy_json(update)

    def _push_member_change(self, chat: ChatState, old: str, new: str) -> None:
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
        return copy_json(sizes)

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
            raise bad("there is no photo in the request")
        ref = str(reference)
        if ref.startswith(("http://", "https://")):
            return self._register_photo(b"", source_url=ref)
        stored = self.files.get(ref)
        if stored is None:
            raise bad("wrong file identifier/HTTP URL specified")
        if stored.kind != "photo":
            raise bad(f"can't use file of type {stored.kind.capitalize()} as Photo")
        return copy_json(self._photo_groups[ref])

    def _document_by_reference(self, reference: object) -> FakeDocument:
        if not reference:
            raise bad("there is no document in the request")
        stored = self.files.get(str(reference))
        if stored is None:
            raise bad("wrong file identifier/HTTP URL specified")
        if stored.kind != "document":
            raise bad(f"can't use file of type {stored.kind.capitalize()} as Document")
        return FakeDocument(
            stored.file_name or "file",
            stored.data,
            stored.mime_type or "application/octet-stream",
            stored.file_id,
            stored.file_unique_id,
        )
