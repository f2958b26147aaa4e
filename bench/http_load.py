"""HTTP load for ``web.py``: uvicorn serving an ASGI app in this process's loop on a
socket of its own, and keep-alive HTTP/1.1 clients in a child process, in a closed loop
(each client sends the next request as soon as it has its answer) or an open loop (a
fixed schedule, latency counted from each request's scheduled moment).

The clients speak HTTP/1.1 on bare asyncio streams, one kept-alive connection each: one
``httpx.AsyncClient`` on 2 cores measures itself more than the server (see
``whatsapp_webhook.py``, whose client this one follows, reading bodies too).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection

import uvicorn
from starlette.types import ASGIApp

# One GET: its path and headers.
Get = tuple[str, dict[str, str]]
# One answer: seconds (from the scheduled moment in an open loop), status (0: no answer),
# body bytes.
Answer = tuple[float, int, int]


# -- the clients (a child process) ------------------------------------------------------

class RawConnection:
    """One kept-alive HTTP/1.1 connection on asyncio streams (Content-Length bodies only,
    which is what Starlette's responses carry)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, int]:
        """(status, body bytes) of ``GET path``; once again on a new connection if a
        kept-alive one turns out closed."""
        lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 *(f"{name}: {value}" for name, value in headers.items())]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        for attempt in range(2):
            reused = self._streams is not None
            if self._streams is None:
                self._streams = await asyncio.open_connection(self.host, self.port)
            reader, writer = self._streams
            try:
                writer.write(data)
                head = await reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError) as closed:
                self.close()
                partial = isinstance(closed, asyncio.IncompleteReadError) and closed.partial
                if reused and not partial and attempt == 0:
                    continue
                raise
            status = int(head.split(b" ", 2)[1])
            length, close = 0, False
            for line in head.split(b"\r\n")[1:]:
                name, _sep, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection":
                    close = value.strip().lower() == b"close"
            await reader.readexactly(length)
            if close:
                self.close()
            return status, length
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def _one(connection: RawConnection, request: Get, since: float) -> Answer:
    try:
        status, size = await connection.get(*request)
    except (OSError, EOFError, ValueError, IndexError):
        connection.close()
        status, size = 0, 0
    return time.perf_counter() - since, status, size


async def closed_loop(pool: list[RawConnection], requests: Sequence[Get],
                      seconds: float) -> tuple[float, list[Answer]]:
    """Every connection sends the next request as soon as it has its answer, for
    ``seconds``; returns the wall time and the answers."""
    answers: list[Answer] = []
    turn = iter(range(1 << 62))
    end = time.perf_counter() + seconds

    async def client(connection: RawConnection) -> None:
        while time.perf_counter() < end:
            request = requests[next(turn) % len(requests)]
            answers.append(await _one(connection, request, time.perf_counter()))

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in pool))
    return time.perf_counter() - started, answers


async def open_loop(pool: list[RawConnection], host: str, port: int,
                    requests: Sequence[Get], rate: float, seconds: float,
                    ) -> tuple[float, list[Answer]]:
    """``rate`` requests a second on a fixed schedule for ``seconds``, each on an idle
    connection (a new one when all are busy); latency from the scheduled moment."""
    idle = list(pool)
    answers: list[Answer] = []
    tasks: list[asyncio.Task[None]] = []

    async def send(request: Get, due: float) -> None:
        connection = idle.pop() if idle else RawConnection(host, port)
        answers.append(await _one(connection, request, due))
        idle.append(connection)

    started = time.perf_counter()
    count = max(1, int(rate * seconds))
    for i in range(count):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(requests[i % len(requests)], due)))
    await asyncio.gather(*tasks)
    pool[:] = idle
    return time.perf_counter() - started, answers


def child(pipe: Connection, host: str, clients: int) -> None:
    """The client process: (mode, port, requests, rate, seconds) in, (wall, answers)
    out; None ends."""

    async def serve_jobs() -> None:
        pools: dict[int, list[RawConnection]] = {}
        try:
            while (job := pipe.recv()) is not None:
                mode, port, requests, rate, seconds = job
                pool = pools.setdefault(port, [RawConnection(host, port)
                                               for _ in range(clients)])
                if mode == "closed":
                    pipe.send(await closed_loop(pool, requests, seconds))
                else:
                    pipe.send(await open_loop(pool, host, port, requests, rate, seconds))
        finally:
            for pool in pools.values():
                for connection in pool:
                    connection.close()

    asyncio.run(serve_jobs())


class Clients:
    """The child process that runs the clients."""

    def __init__(self, host: str, clients: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, theirs = context.Pipe()
        self._process = context.Process(target=child, args=(theirs, host, clients),
                                        daemon=True)
        self._process.start()
        theirs.close()

    async def run(self, mode: str, port: int, requests: Sequence[Get], rate: float,
                  seconds: float) -> tuple[float, list[Answer]]:
        self._pipe.send((mode, port, list(requests), rate, seconds))
        answer: tuple[float, list[Answer]] = await asyncio.get_running_loop(
            ).run_in_executor(None, self._pipe.recv)
        return answer

    def close(self) -> None:
        if self._process.is_alive():
            self._pipe.send(None)
        self._process.join(10)
        self._pipe.close()


# -- the servers ------------------------------------------------------------------------

def listening_socket() -> socket.socket:
    """A socket for uvicorn on 127.0.0.1, its port chosen by the system. Named TCP
    explicitly: asyncio sets TCP_NODELAY only on sockets whose ``proto`` says TCP, and
    without it every answer written in two parts waits 40 ms for a delayed ACK."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Served:
    """An ASGI app served by uvicorn in this process's loop, on a socket of its own."""

    def __init__(self, app: ASGIApp, sock: socket.socket) -> None:
        self.socket = sock
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(app, log_config=None, log_level="warning",
                                access_log=False, lifespan="auto")
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.socket]))
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError("uvicorn stopped at start-up")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
