"""The registry that maps commands, button verbs and awaited answers to handlers.

Button payloads read ``verb:arg:arg``; ``arg`` turns a forged or broken argument into
``NotFound`` (the conversation answers « introuvable » and changes nothing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from chatshop.conversation.context import Context
from chatshop.conversation.messages import Reply
from chatshop.errors import NotFound

Handler = Callable[[Context, list[str]], Awaitable[list[Reply]]]
TextHandler = Callable[[Context, str], Awaitable[list[Reply]]]



class Takes(StrEnum):
    """What an awaited answer is, which decides how typed lines are read at its prompt."""

    FREE = "free"  # free text (a reason, a name): what is typed is the answer, except
    #                « retour », « annuler », « menu » or « non » alone, which leave
    NUMBER = "number"  # a number (a price, a stock): digits answer, never pick a choice
    WORDS = "words"  # words of a known form (a search, opening hours): everyday phrases
    #                  (« bonjour », « aide »...) are understood there


PRESSES: dict[str, Handler] = {}
COMMANDS: dict[str, Handler] = {}
ANSWERS: dict[str, TextHandler] = {}
TAKES: dict[str, Takes] = {}


def press(verb: str) -> Callable[[Handler], Handler]:
    """Register the handler of the buttons whose payload starts with ``verb:``."""
    def register(handler: Handler) -> Handler:
        if verb in PRESSES:  # two flows answering one button would be a silent bug
            raise ValueError(f"button verb {verb!r} is registered twice")
        PRESSES[verb] = handler
        return handler
    return register


def command(*names: str) -> Callable[[Handler], Handler]:
    """Register a ``/command`` (its French name and any aliases)."""
    def register(handler: Handler) -> Handler:
        for name in names:
            if name in COMMANDS:
                raise ValueError(f"command {name!r} is registered twice")
            COMMANDS[name] = handler
        return handler
    return register


def answer(kind: str, takes: Takes = Takes.FREE) -> Callable[[TextHandler], TextHandler]:
    """Register what to do with the text typed after the bot asked for ``kind``, and
    what that answer ``takes`` (a prompt may say otherwise: ``ctx.expect(..., takes=)``)."""
    def register(handler: TextHandler) -> TextHandler:
        if kind in ANSWERS:
            raise ValueError(f"answer {kind!r} is registered twice")
        ANSWERS[kind] = handler
        TAKES[kind] = takes
        return handler
    return register


def takes(waiting: dict[str, Any] | None) -> Takes | None:
    """What the awaited answer ``waiting`` (``Context.awaiting()``) takes; None when
    nothing typed answers it (no prompt, or a photo awaited)."""
    if waiting is None or waiting.get("kind") not in ANSWERS:
        return None
    said = waiting.get("takes")
    return Takes(said) if said in set(Takes) else TAKES[str(waiting["kind"])]


def arg(args: list[str], index: int, what: str = "item") -> int:
    """The ``index``-th argument as a positive id (or count); forged values are not found."""
    try:
        value = args[index]
    except IndexError:
        raise NotFound(what, None) from None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise NotFound(what, value)
    return int(value)
