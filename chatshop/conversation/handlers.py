"""The registry that maps button routes, commands and awaited answers to handlers.

A button's handler is registered on its route (``@handles(READY)``) and receives the
route's arguments typed, by name (``reservation: int``); a forged or broken argument is
``NotFound`` before the handler runs (the conversation answers « introuvable » and
changes nothing). ``@handles(MENU, "menu")`` also answers ``/menu``, whose words are read
as the route's arguments. Other commands (``@command``) take the words typed.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from chatshop.conversation.context import Context
from chatshop.conversation.messages import Reply
from chatshop.conversation.prompts import P, Prompt, Takes
from chatshop.conversation.routes import ROUTES, Route, Value

Handler = Callable[[Context, list[str]], Awaitable[list[Reply]]]
TextHandler = Callable[[Context, str, Any], Awaitable[list[Reply]]]
Routed = Callable[..., Awaitable[list[Reply]]]
R = TypeVar("R", bound=Routed)


PRESSES: dict[str, Routed] = {}  # by route verb
COMMANDS: dict[str, Handler] = {}
ANSWERS: dict[str, TextHandler] = {}  # by prompt kind
PROMPTS: dict[str, type[Prompt]] = {}
TAKES: dict[str, Takes] = {}

__all__ = ["ANSWERS", "COMMANDS", "PRESSES", "PROMPTS", "TAKES", "Takes", "answer",
           "command", "dispatch_press", "handles", "takes"]


def handles(route: Route, *commands: str) -> Callable[[R], R]:
    """Register the handler of ``route``'s buttons; it is called with the route's
    arguments by name. ``commands`` answer the same way, their words read as the
    route's arguments (``/boutique 12`` is ``d:12``)."""
    def register(handler: R) -> R:
        if route.verb in PRESSES:  # two flows answering one button would be a silent bug
            raise ValueError(f"button verb {route.verb!r} is registered twice")
        if ROUTES.get(route.verb) is not route:
            raise ValueError(f"{route!r} is not declared in routes")
        _check_signature(route, handler)
        PRESSES[route.verb] = handler
        if commands:
            async def typed(ctx: Context, words: list[str]) -> list[Reply]:
                return await handler(ctx, **route.read(words))
            typed.__doc__ = handler.__doc__
            command(*commands)(typed)
        return handler
    return register


async def dispatch_press(ctx: Context, verb: str, parts: list[str]) -> list[Reply] | None:
    """Run the handler of the button ``verb:parts``; None when no route has that verb
    (a button of an older version, or a forged one)."""
    route, handler = ROUTES.get(verb), PRESSES.get(verb)
    if route is None or handler is None:
        return None
    values: dict[str, Value] = route.read(parts)  # NotFound before anything runs
    return await handler(ctx, **values)


def _check_signature(route: Route, handler: Routed) -> None:
    """The handler takes the context, then exactly the route's arguments by name, with a
    default for each optional one: a mismatch fails at import, not in a chat."""
    params = list(inspect.signature(handler).parameters.values())[1:]
    names = [p.name for p in params]
    if names != [p.name for p in route.params]:
        raise TypeError(f"{handler.__name__} takes {names}, {route!r} carries "
                        f"{[p.name for p in route.params]}")
    for declared, param in zip(route.params, params, strict=True):
        if declared.optional and param.default is inspect.Parameter.empty \
                and declared.kind != "tail":
            raise TypeError(f"{handler.__name__}: {param.name!r} needs a default")


def command(*names: str) -> Callable[[Handler], Handler]:
    """Register a ``/command`` (its French name and any aliases)."""
    def register(handler: Handler) -> Handler:
        for name in names:
            if name in COMMANDS:
                raise ValueError(f"command {name!r} is registered twice")
            COMMANDS[name] = handler
        return handler
    return register


def answer(prompt: type[P], takes: Takes = Takes.FREE
           ) -> Callable[[Callable[[Context, str, P], Awaitable[list[Reply]]]],
                         Callable[[Context, str, P], Awaitable[list[Reply]]]]:
    """Register what to do with the text typed at ``prompt`` (the handler gets the
    prompt back, typed), and what that answer ``takes`` (a prompt may say otherwise:
    its ``takes`` field)."""
    def register(handler: Callable[[Context, str, P], Awaitable[list[Reply]]]
                 ) -> Callable[[Context, str, P], Awaitable[list[Reply]]]:
        if prompt.KIND in ANSWERS:
            raise ValueError(f"answer {prompt.KIND!r} is registered twice")
        ANSWERS[prompt.KIND] = handler
        PROMPTS[prompt.KIND] = prompt
        TAKES[prompt.KIND] = takes
        return handler
    return register


def takes(waiting: dict[str, Any] | None) -> Takes | None:
    """What the awaited answer ``waiting`` (``Context.awaiting()``) takes; None when
    nothing typed answers it (no prompt, or a photo awaited)."""
    if waiting is None or waiting.get("kind") not in ANSWERS:
        return None
    said = waiting.get("takes")
    return Takes(said) if said in set(Takes) else TAKES[str(waiting["kind"])]
