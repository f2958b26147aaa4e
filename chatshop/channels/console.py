"""The console channel: the whole product in a terminal, for the demo and for scripts.

Buttons are printed as numbered choices; typing the number or the label presses one.
Lines starting with ``!`` are the console's own (switch identity, send a photo or a
file); everything else is what a person would type in a chat. Read from a pipe, every
line is handled in order and every reply is printed, notifications to other people
marked with their addressee, so a scripted run reads as a transcript.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from chatshop.conversation.messages import (
    Button,
    Command,
    ContactIn,
    DocumentIn,
    Event,
    Inbound,
    PhotoIn,
    Press,
    Reply,
    Text,
)
from chatshop.i18n import _

Handle = Callable[[Inbound], Awaitable[list[Reply]]]
Tick = Callable[[], Awaitable[list[Reply]]]


@dataclass
class Identity:
    """Who is typing in the console right now."""

    user_id: str
    display_name: str


@dataclass
class ConsoleChat:
    """One terminal session; ``identities`` maps short names to people of the demo."""

    handle: Handle
    out: TextIO
    identities: dict[str, Identity]
    current: str
    files_dir: Path
    tick: Tick | None = None
    echo: bool = False
    _buttons: list[Button] = field(default_factory=list)
    _expects_text: bool = False
    _photos: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def me(self) -> Identity:
        return self.identities[self.current]

    async def line(self, raw: str) -> None:
        """Handle one typed line."""
        text = raw.strip()
        if not text:
            return
        if self.echo:
            self._print(f"» [{self.current}] {text}")
        if text.startswith("!"):
            event = await self._console_command(text[1:])
            if event is None:
                return
        else:
            event = self._event(text)
        replies = await self.handle(Inbound(channel="console", user_id=self.me.user_id,
                                            display_name=self.me.display_name, event=event))
        await self._show(replies)
        if self.tick is not None:
            await self._show(await self.tick())

    def _event(self, text: str) -> Event:
        if text.startswith("/"):
            name, _sep, args = text[1:].partition(" ")
            return Command(name=name, args=args.strip())
        pressed = self._pressed(text)
        if pressed is not None:
            return Press(payload=pressed.payload)
        return Text(text=text)

    def _pressed(self, text: str) -> Button | None:
        if text.isdigit() and self._expects_text:
            return None  # a number typed after a question answers it
        if text.isdigit() and 1 <= int(text) <= len(self._buttons):
            return self._buttons[int(text) - 1]
        wanted = _fold(text)
        for button in self._buttons:
            if _fold(button.label) == wanted:
                return button
        return None

    async def _console_command(self, text: str) -> Event | None:
        verb, _sep, rest = text.partition(" ")
        rest = rest.strip()
        if verb in ("qui", "who"):
            self._print(_("You are {name} ({id}). Others: {names}").format(
                name=self.me.display_name, id=self.current,
                names=", ".join(k for k in self.identities if k != self.current)))
            return None
        if verb in ("etre", "être", "as"):
            if rest not in self.identities:
                self._print(_("Unknown person. Choose one of: {names}").format(
                    names=", ".join(self.identities)))
                return None
            self.current = rest
            self._buttons = []
            self._print(_("— You are now {name} ({id}). Type /menu to start. —").format(
                name=self.me.display_name, id=rest))
            return None
        if verb in ("tel", "tél"):
            return ContactIn(phone=rest)
        if verb == "photo":
            return PhotoIn(file_ref=f"console-photo-{next(self._photos)}", caption=rest)
        if verb in ("fichier", "file"):
            path = Path(rest)
            try:
                data = await asyncio.to_thread(path.read_bytes)
            except OSError as exc:
                self._print(_("Cannot read {path}: {error}").format(path=rest, error=exc))
                return None
            return DocumentIn(file_name=path.name, data=data)
        self._print(console_help())
        return None

    async def _show(self, replies: Sequence[Reply]) -> None:
        mine = [r for r in replies if r.to is None]
        if mine:
            self._buttons = [b for r in mine for b in r.all_buttons]
            self._expects_text = any(r.expects_text for r in mine)
        number = itertools.count(1)
        for reply in replies:
            lines = []
            if reply.to is not None:
                lines.append(_("📨 To {name} ({id}):").format(
                    name=reply.to.display_name or reply.to.user_id, id=reply.to.user_id))
            if reply.photo:
                lines.append(_("[photo {ref}]").format(ref=reply.photo))
            lines.append(reply.text)
            if reply.venue is not None:
                lines.append(_("[map: {title}, {lat:.5f}, {lon:.5f}]").format(
                    title=reply.venue.title, lat=reply.venue.latitude,
                    lon=reply.venue.longitude))
            if reply.document is not None:
                path = self._save(reply.document.file_name, reply.document.data)
                lines.append(_("[file saved: {path}]").format(path=path))
            if reply.ask_contact and reply.to is None:
                lines.append(_("[share your number: !tel 06 12 34 56 78, or type « non "
                               "merci »]"))
            for row in reply.buttons:
                if reply.to is None:
                    lines.append("   ".join(f"[{next(number)}] {b.label}" for b in row))
                else:
                    lines.append("   ".join(f"[{b.label}]" for b in row))
            self._print("\n".join(lines))
            self._print("")

    def _save(self, name: str, data: bytes) -> Path:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        path = self.files_dir / Path(name).name
        path.write_bytes(data)
        return path

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def console_help() -> str:
    return _("Console commands: !qui (who am I), !etre <person> (become someone else), "
             "!photo <caption> (send a photo), !fichier <path> (send a file), "
             "!tel <number> (share your phone number). "
             "Type a number or a button's label to press it; anything else is sent as a "
             "message.")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if c.isalnum())
    return kept.casefold()


async def run(chat: ConsoleChat, source: TextIO = sys.stdin) -> None:
    """Read lines until the end of input (Ctrl-D) and handle each in order."""
    interactive = source.isatty()
    while True:
        if interactive:
            chat.out.write(f"[{chat.current}] > ")
            chat.out.flush()
        raw = await asyncio.to_thread(source.readline)
        if not raw:
            break
        await chat.line(raw)
