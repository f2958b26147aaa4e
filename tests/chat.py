"""A chat-like test client for the conversation: ``await jeanne.send("creme")``, then
look at what she was answered and press buttons by their label, as a person would.

Every reply any test receives is checked against the rules every screen must keep: at
most 8 buttons, and always a way on (a button, at least « Menu »).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from chatshop.conversation.messages import (
    Command,
    DocumentIn,
    Event,
    Inbound,
    PhotoIn,
    Press,
    Reply,
    Text,
)
from chatshop.conversation.router import Conversation


@dataclass
class Postbox:
    """Notifications delivered to people other than the sender, by their user id."""

    inbox: dict[str, list[Reply]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class Chat:
    conversation: Conversation
    user_id: str
    name: str
    postbox: Postbox
    channel: str = "telegram"
    last: list[Reply] = field(default_factory=list)

    async def event(self, event: Event) -> list[Reply]:
        replies = await self.conversation.handle(Inbound(
            channel=self.channel, user_id=self.user_id, display_name=self.name,  # type: ignore[arg-type]
            event=event))
        for reply in replies:
            check_screen(reply)
            if reply.to is not None:
                self.postbox.inbox[reply.to.user_id].append(reply)
        self.last = [r for r in replies if r.to is None]
        return self.last

    async def send(self, text: str) -> list[Reply]:
        """Type a line: ``/command args`` or free text."""
        if text.startswith("/"):
            name, _sep, args = text[1:].partition(" ")
            return await self.event(Command(name=name, args=args))
        return await self.event(Text(text=text))

    async def press(self, label: str) -> list[Reply]:
        """Press the (last shown) button whose label contains ``label``."""
        for reply in reversed(self.last):
            for button in reply.all_buttons:
                if label.casefold() in button.label.casefold():
                    return await self.event(Press(payload=button.payload))
        raise AssertionError(f"no button « {label} » in {self.labels}")

    async def forge(self, payload: str) -> list[Reply]:
        """Press a button that was never shown (a forged or stale payload)."""
        return await self.event(Press(payload=payload))

    async def photo(self, caption: str, file_ref: str = "AgAC-photo") -> list[Reply]:
        return await self.event(PhotoIn(file_ref=file_ref, caption=caption))

    async def document(self, file_name: str, data: bytes) -> list[Reply]:
        return await self.event(DocumentIn(file_name=file_name, data=data))

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.last)

    @property
    def labels(self) -> list[str]:
        return [b.label for reply in self.last for b in reply.all_buttons]

    def inbox(self) -> list[Reply]:
        """Notifications this person received so far (and forget them)."""
        received = list(self.postbox.inbox.pop(self.user_id, []))
        for reply in received:
            check_screen(reply)
        return received


def check_screen(reply: Reply) -> None:
    buttons = reply.all_buttons
    assert len(buttons) <= 8, f"too many buttons: {[b.label for b in buttons]}"
    assert buttons, f"a dead end: {reply.text!r}"
    for button in buttons:
        assert len(button.payload.encode()) <= 64
