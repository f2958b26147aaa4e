"""What the fake platforms (tests/fakes/telegram, tests/fakes/whatsapp) share: a clock that only
moves when told to, the injection of faults and outages, waiting for their state to change, and
the small pieces of JSON both handle (a tiny PNG, a deep copy).

Each fake keeps its own kinds of fault (a Telegram 429 carries ``retry_after``, a Meta error a
code and details); what is shared is how they are queued, matched and used up, and the outage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from tests.fakes.changes import Changes

__all__ = ["JSON", "TINY_PNG", "FakePlatform", "Fault", "ManualTime", "copy_json"]

JSON = dict[str, Any]

#: A valid 1x1 PNG, for tests that upload or receive a photo (both platforms refuse bytes that
#: are no image).
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201e5d1d2fd0000000049454e44ae426082"
)


class ManualTime:
    """A time source that only moves when told to (``clock=`` or ``wall_clock=`` of a fake).

    The start is arbitrary: a monotonic clock (1000 s by default), or a wall clock given in unix
    seconds (``ManualTime(1_780_000_000.0)``)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


J = TypeVar("J")


def copy_json(value: J) -> J:
    """A deep copy of JSON data (dicts, lists, scalars): what ``copy.deepcopy`` does here,
    without its memo bookkeeping, which made the fakes slower than the bots they serve."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}  # type: ignore[return-value]
    if isinstance(value, list):
        return [copy_json(item) for item in value]  # type: ignore[return-value]
    return value


class Fault(Protocol):
    """A fault waiting to strike: how many more requests it hits, and which ones."""

    remaining: int

    def matches(self, name: str) -> bool: ...


F = TypeVar("F", bound=Fault)


class FakePlatform(Generic[F]):
    """The fault injection and the waiting every fake platform has: faults queued by the
    fake's ``fail_next``/``timeout_next``, an outage (:meth:`go_down` until :meth:`come_back`),
    and :meth:`wait_for` a condition on what the fake recorded."""

    def __init__(self) -> None:
        self._faults: list[F] = []
        self._down = False
        self._changes = Changes()

    def go_down(self) -> None:
        """An outage: every request fails with a network error until :meth:`come_back`."""
        self._down = True
        self._notify()

    def come_back(self) -> None:
        self._down = False
        self._notify()

    @property
    def is_down(self) -> bool:
        return self._down

    def _inject(self, fault: F) -> None:
        self._faults.append(fault)

    def _take_fault(self, name: str) -> F | None:
        """The first queued fault for this request (method or operation), used up by one."""
        for fault in self._faults:
            if fault.matches(name):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _until(self, predicate: Callable[[], Any], timeout: float,  # noqa: ASYNC109
                     recent: Callable[[], str]) -> Any:
        return await self._changes.until(predicate, timeout, recent)

    def _notify(self) -> None:
        self._changes.notify()

    async def _wait_change(self, seconds: float) -> None:
        await self._changes.wait(seconds)
