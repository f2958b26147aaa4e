"""The console channel: the whole product in a terminal, for the demo and for scripts.

Buttons are printed as numbered choices; typing the number or the label presses one. A
number is the answer, not a choice, where the bot asks for a number (a stock, a price);
a number that matches no choice is asked again, never searched. Lines starting with
``!`` are the console's own (switch identity, send a photo or a file); everything else is
what a person would type in a chat. Each person of the demo keeps their last screen,
notifications included, so that after ``!etre`` they can press its buttons. At a
terminal, lines are edited and recalled as in a shell (readline). Read from a pipe,
every line is handled in order and every reply is printed, notifications to other people
marked with their addressee, so a scripted run reads as a transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
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
    Recipient,
    Reply,
    Text,
    same_title,
)
from chatshop.conversation.router import MAX_FILE_BYTES
from chatshop.delivery.outcome import Message, Outcome, Sent
from chatshop.delivery.runtime import Delivery
from chatshop.domain.models import Channel
from chatshop.i18n import _, format_number, ngettext

Handle = Callable[[Inbound], Awaitable[list[Reply]]]
Tick = Callable[[], Awaitable[list[Reply]]]

# What a terminal sends for keys that are not text (arrows, function keys: « ^[[A »),
# and the other control characters: never part of a message.
_CONTROL = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|O.|.)?|[\x00-\x08\x0a-\x1f\x7f]")


class ConsolePlatform:
    """The console as a platform of the delivery runtime: what the runtime sends (a
    reminder, a digest) is kept, to be shown after the line that was typed."""

    def __init__(self) -> None:
        self._kept: list[Reply] = []

    @property
    def name(self) -> Channel:
        return "console"

    @property
    def keep_events(self) -> timedelta:
        return timedelta(days=1)

    def pieces(self, reply: Reply) -> list[Reply]:
        return [reply]

    async def send(self, message: Message) -> Outcome:
        self._kept.append(message.reply)
        return Sent()

    async def taken(self, platform_id: str) -> None:
        """Nothing follows a message in the console."""

    def take(self) -> list[Reply]:
        """What was sent since the last call (addressed to its people)."""
        kept, self._kept = self._kept, []
        return kept


def runtime_tick(delivery: Delivery) -> Tick:
    """After each line, what the runtime's jobs would have done by then: reservations
    swept and reminded, alerts told, the pickup reminders, the staff's morning message
    and Monday figures, and a digest the operator sent delivered to its subscribers,
    all shown in the console."""
    console = ConsolePlatform()
    delivery.register(console)

    async def tick() -> list[Reply]:
        await delivery.sweep()
        await delivery.tell_alerts()
        await delivery.remind_pickups()
        await delivery.send_mornings()
        await delivery.send_figures()
        await delivery.outbox.deliver(console.name)
        await delivery.broadcast.deliver(console)
        return console.take()
    return tick


@dataclass
class Identity:
    """Who is typing in the console right now."""

    user_id: str
    display_name: str


@dataclass
class Screen:
    """What one person was shown last: those replies, whose choices are numbered from 1,
    and whether the bot waits for a typed answer (and whether that answer is a number)."""

    replies: list[Reply] = field(default_factory=list)
    expects_text: bool = False
    expects_number: bool = False

    @property
    def choices(self) -> list[Button]:
        return [button for reply in self.replies for button in reply.all_buttons]


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
    _screens: dict[str, Screen] = field(default_factory=dict)
    _photos: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def me(self) -> Identity:
        return self.identities[self.current]

    @property
    def screen(self) -> Screen:
        """What the person typing now was shown last."""
        return self._screens.get(self.current) or Screen()

    async def line(self, raw: str) -> None:
        """Handle one typed line."""
        text = _CONTROL.sub("", raw.replace("\t", " ")).strip()
        if not text:
            return
        if self.echo:
            self._print(f"» [{self.current}] {text}")
        event = await self._console_command(text[1:]) if text.startswith("!") \
            else self._event(text)
        if event is None:
            return
        replies = await self.handle(Inbound(channel="console", user_id=self.me.user_id,
                                            display_name=self.me.display_name, event=event))
        self._show(replies)
        if self.tick is not None:
            self._show(await self.tick())

    def _event(self, text: str) -> Event | None:
        """What a typed line means here; None when it was answered by the console itself
        (a number that is none of the choices)."""
        if text.startswith("/"):
            name, _sep, args = text[1:].partition(" ")
            return Command(name=name, args=args.strip())
        screen = self.screen
        if text.isascii() and text.isdigit():
            return self._number(screen, text)
        for button in screen.choices:
            if same_title(text, button.label):
                return Press(payload=button.payload)
        return Text(text=text)

    def _number(self, screen: Screen, text: str) -> Event | None:
        """A number typed: the choice of that number, except where the bot asked for a
        number (it is the answer); one that is no choice is asked again."""
        choices = screen.choices
        if screen.expects_number or not choices:
            return Text(text=text)
        if 1 <= int(text) <= len(choices):
            return Press(payload=choices[int(text) - 1].payload)
        if screen.expects_text and len(text) > 3:  # a free answer that is a number (a
            return Text(text=text)                 # phone number...), not a choice's
        self._print(ngettext("Choose number 1:", "Choose a number from 1 to {n}:",
                             len(choices)).format(n=format_number(len(choices))))
        numbers = itertools.count(1)
        self._print("\n".join(line for reply in screen.replies
                              for line in _choice_lines(reply, numbers)))
        self._print("")
        return None

    async def _console_command(self, text: str) -> Event | None:
        verb, _sep, rest = text.partition(" ")
        rest = rest.strip()
        if _is(verb, "qui", "who"):
            self._print(_("You are {name} ({id}). Others: {names}").format(
                name=self.me.display_name, id=self.current,
                names=", ".join(k for k in self.identities if k != self.current)))
            return None
        if _is(verb, "etre", "as"):
            self._become(rest)
            return None
        if _is(verb, "tel"):
            return ContactIn(phone=rest)
        if _is(verb, "photo"):
            return PhotoIn(file_ref=f"console-photo-{next(self._photos)}", caption=rest)
        if _is(verb, "fichier", "file"):
            return await self._file(rest)
        self._print(console_help())
        return None

    def _become(self, wanted: str) -> None:
        """``!etre <person>``: by short name or by name, in any case; their last screen
        is shown again, its choices numbered as they were."""
        key = self._identity(wanted)
        if key is None:
            self._print(_("Unknown person. Choose one of: {names}").format(
                names=", ".join(self.identities)))
            return
        self.current = key
        screen = self._screens.get(key)
        if screen is None or not screen.replies:
            self._print(_("— You are now {name} ({id}). Type /menu to start. —").format(
                name=self.me.display_name, id=key))
            return
        self._print(_("— You are now {name} ({id}). Here is your last screen: —").format(
            name=self.me.display_name, id=key))
        numbers = itertools.count(1)
        for reply in screen.replies:
            self._print(self._render(reply, numbers, save=False))
            self._print("")

    def _identity(self, wanted: str) -> str | None:
        if wanted in self.identities:
            return wanted
        for matches in ([k for k in self.identities if same_title(wanted, k)],
                        [k for k, who in self.identities.items()
                         if same_title(wanted, who.display_name)]):
            if len(matches) == 1:
                return matches[0]
        return None

    async def _file(self, given: str) -> Event | None:
        """``!fichier <path>``: the file as a person would send it; what is wrong with
        the path is said in French, and nothing is sent."""
        if not given:
            self._print(_("Which file? Type « !fichier » and its path, e.g. « !fichier "
                          "produits.csv »."))
            return None
        path = Path(given.strip("'\""))
        try:
            data = await asyncio.to_thread(_read_small, path)
        except FileNotFoundError:
            self._print(_("There is no file « {path} » (looked for from the folder "
                          "{folder}).").format(path=given, folder=Path.cwd()))
            return None
        except IsADirectoryError:
            self._print(_("« {path} » is a folder: give the path of a file in it.").format(
                path=given))
            return None
        except PermissionError:
            self._print(_("You are not allowed to read « {path} ».").format(path=given))
            return None
        except OSError:
            self._print(_("The file « {path} » could not be read.").format(path=given))
            return None
        if data is None:
            return DocumentIn(file_name=path.name, data=b"", too_large=True)
        return DocumentIn(file_name=path.name, data=data)

    def _show(self, replies: Sequence[Reply]) -> None:
        """Print the replies; each demo person they are for keeps them as their screen."""
        shown: dict[str, list[Reply]] = {}
        numbers: dict[str, Iterator[int]] = {}
        for reply in replies:
            key = self.current if reply.to is None else self._addressee(reply.to)
            if key is not None:
                shown.setdefault(key, []).append(reply)
            self._print(self._render(reply, numbers.setdefault(key, itertools.count(1))
                                     if key is not None else None, to=key))
            self._print("")
        for key, theirs in shown.items():
            self._screens[key] = Screen(
                theirs, expects_text=any(r.expects_text for r in theirs),
                expects_number=any(r.expects_number for r in theirs))

    def _addressee(self, to: Recipient) -> str | None:
        """The demo person a notification is for (None: someone outside the console)."""
        if to.channel != "console":
            return None
        return next((k for k, who in self.identities.items() if who.user_id == to.user_id),
                    None)

    def _render(self, reply: Reply, numbers: Iterator[int] | None, *,
                to: str | None = None, save: bool = True) -> str:
        """``reply`` as text: its choices numbered when ``numbers`` counts them (a person
        of the demo can press them), else in brackets."""
        own = to is None or to == self.current
        lines = []
        if reply.to is not None:
            lines.append(_("📨 To {name} ({id}):").format(
                name=reply.to.display_name or reply.to.user_id, id=reply.to.user_id))
        if reply.photo:  # a kept image is named by its 64-digit hash: not worth reading
            lines.append(_("[photo]") if reply.photo.startswith("media:")
                         else _("[photo {ref}]").format(ref=reply.photo))
        lines.append(reply.text)
        if reply.venue is not None:
            lines.append(_("[map: {title}, {lat:.5f}, {lon:.5f}]").format(
                title=reply.venue.title, lat=reply.venue.latitude,
                lon=reply.venue.longitude))
        if reply.document is not None:
            path = self._save(reply.document.file_name, reply.document.data, write=save)
            lines.append(_("[file saved: {path}]").format(path=path))
        if reply.ask_contact and own:
            lines.append(_("[share your number: !tel 06 12 34 56 78, or type « non "
                           "merci »]"))
        if numbers is None:
            lines += ["   ".join(f"[{b.label}]" for b in row) for row in reply.buttons]
        else:
            lines += _choice_lines(reply, numbers)
            if reply.buttons and not own:
                lines.append(_("(to answer as {name}: !etre {id})").format(
                    name=self.identities[str(to)].display_name, id=to))
        if reply.link is not None:  # an address to open, not a choice to press
            lines.append(f"{reply.link.label}\u00a0: {reply.link.url}")
        return "\n".join(lines)

    def _save(self, name: str, data: bytes, *, write: bool = True) -> Path:
        path = self.files_dir / Path(name).name
        if write:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return path

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def console_help() -> str:
    return _("Console commands: !qui (who am I), !etre <person> (become someone else, "
             "who finds their last screen again), !photo <caption> (send a photo), "
             "!fichier <path> (send a file), !tel <number> (share your phone number). "
             "Type a number or a button's label to press it (where a number is asked "
             "for, a stock or a price, it is the answer); anything else is sent as a "
             "message.")


def _choice_lines(reply: Reply, numbers: Iterator[int]) -> list[str]:
    return ["   ".join(f"[{next(numbers)}] {b.label}" for b in row) for row in reply.buttons]


def _is(verb: str, *names: str) -> bool:
    """Whether a console command's verb is one of ``names`` (« !Être » is « !etre »)."""
    return any(same_title(verb, name) for name in names)


def _read_small(path: Path) -> bytes | None:
    """The file's bytes, or None when it is larger than a file the bot takes."""
    with path.expanduser().open("rb") as file:
        data = file.read(MAX_FILE_BYTES + 1)
    return None if len(data) > MAX_FILE_BYTES else data


async def run(chat: ConsoleChat, source: TextIO = sys.stdin) -> None:
    """Read lines until the end of input (Ctrl-D) and handle each in order. At a
    terminal a line is edited, and the earlier ones recalled with the arrows, as in a
    shell (readline)."""
    read: Callable[[], str] = source.readline
    if source is sys.stdin and source.isatty():
        import readline  # noqa: F401  (loading it gives input() line editing and history)
        read = functools.partial(_typed, chat)
    while raw := await _in_background(read):
        await chat.line(raw)


def _typed(chat: ConsoleChat) -> str:
    """A line typed at the terminal, after the prompt saying who is typing ("" at the
    end of input, Ctrl-D)."""
    try:
        return input(f"[{chat.current}] > ") + "\n"
    except EOFError:
        return ""


def _in_background(read: Callable[[], str]) -> asyncio.Future[str]:
    """``read()`` in a thread of its own, which does not keep the process alive: after
    Ctrl-C the demo ends at once, not at the next Enter."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()

    def settle(line: str | None, problem: BaseException | None) -> None:
        if done.cancelled():
            return
        if problem is not None:
            done.set_exception(problem)
        else:
            done.set_result(line or "")

    def work() -> None:
        try:
            line, problem = read(), None
        except Exception as error:  # handed to the loop, which raises it there
            line, problem = None, error
        with contextlib.suppress(RuntimeError):  # the demo ended (Ctrl-C) meanwhile
            loop.call_soon_threadsafe(settle, line, problem)

    threading.Thread(target=work, name="console-input", daemon=True).start()
    return done
