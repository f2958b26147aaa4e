"""The jobs a process runs, each once whatever channels it serves: every job is a loop
of its own that runs its work, then sleeps, until the scheduler stops. A job that fails
is logged and runs again at its next time; a stop cancels the sleeping ones and lets the
working ones finish their work in flight only where that work watches ``stopping``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """``work`` every ``every`` seconds, the first time after ``first`` seconds."""

    name: str
    every: float
    work: Callable[[], Awaitable[object]]
    first: float = 0.0


class Scheduler:
    def __init__(self, jobs: Sequence[Job]) -> None:
        self.jobs = tuple(jobs)
        self._tasks: list[asyncio.Task[None]] = []
        self.stopping = asyncio.Event()

    def start(self) -> None:
        """Start every job (once: a second call changes nothing)."""
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._loop(job), name=f"job:{job.name}")
                           for job in self.jobs]

    async def _loop(self, job: Job) -> None:
        await self._sleep(job.first)
        while not self.stopping.is_set():
            try:
                await job.work()
            except Exception:
                log.exception("scheduled job %s failed", job.name)
            await self._sleep(job.every)

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), seconds)

    async def stop(self) -> None:
        """Stop every job: sleeping ones at once, working ones once their work ends."""
        self.stopping.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
