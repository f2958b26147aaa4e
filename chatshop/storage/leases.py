"""Leases of the digest's senders: a sender holds one while it delivers, the subscribers
it takes carry its token, and another sender may take them over as soon as the lease is
gone, never after a timeout.

A lease dies with its process, however the process ends (SIGKILL, a crash, a reboot):

- on SQLite, :class:`FileLeases`: an OS file lock (``flock``) on
  ``<database>.digest-<token>.lock`` beside the database. The kernel drops the lock when
  the process dies; a lease is alive while its file exists and someone holds its lock.
  The file of a dead lease is removed by whoever finds it so. ``flock`` locks belong to
  an open file, not to a process, so two senders in one process have two leases that
  exclude each other like two processes' do. This needs a local file system, as SQLite's
  WAL does anyway; removing a live sender's file by hand would free what it holds.
- a database that lives in this process only (``:memory:``), :class:`LocalLeases`: a
  set of the live tokens; nobody else can see that database anyway.
- PostgreSQL would hold a session advisory lock instead (``pg_advisory_lock`` on the
  token's hash, on a connection kept for the sender's life): it dies with the session,
  and a claim asks ``pg_locks`` in the same statement that takes the subscribers.

Nothing here knows about digests or SQL: the digest repository holds the leases.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol


class Lease(Protocol):
    """One sender's hold: its ``token`` is alive until :meth:`release` or its process
    dies."""

    @property
    def token(self) -> str: ...

    def release(self) -> None: ...


class Leases(Protocol):
    """Where leases are taken and asked about."""

    def hold(self) -> Lease:
        """A new lease, alive from now."""
        ...

    def alive(self, token: str) -> bool:
        """Whether the lease ``token`` is still held (by this process or another)."""
        ...


class ChatLocks(Protocol):
    """One lock per chat across every process on the database: a person's updates are
    handled one at a time whichever process received them."""

    async def hold(self, key: str) -> None:
        """Wait until ``key`` is this process's (already held in it: see ``Turns``)."""
        ...

    async def let_go(self, key: str) -> None: ...


class InProcessChatLocks:
    """``ChatLocks`` of a database one process serves (SQLite): the process's own turns
    (``conversation.turns``) are all it takes."""

    async def hold(self, key: str) -> None:
        return None

    async def let_go(self, key: str) -> None:
        return None


class Roles(Protocol):
    """Work that one process at a time does for the whole database (registering the
    webhook, sending the digest): taken by the first process that asks, kept until it
    dies, then the next one that asks takes it."""

    async def leads(self, role: str) -> bool:
        """Whether this process has ``role`` (taking it if it is free)."""
        ...


class OneProcessRoles:
    """``Roles`` of a database one process serves: it has them all."""

    async def leads(self, role: str) -> bool:
        return True


class SendBudget(Protocol):
    """A platform's overall rate, shared by every process sending on it."""

    async def take(self, channel: str, per_second: int) -> None:
        """Wait for this message's slot on ``channel`` (at most ``per_second`` a second
        for the whole database)."""
        ...


class OwnSendBudget:
    """``SendBudget`` of a database one process serves: its own windows keep the rate."""

    async def take(self, channel: str, per_second: int) -> None:
        return None


class Holder:
    """This process as the rows it holds name it (``outbox.claimed_by``,
    ``inbound_events.received_by``): the token of a lease held for the process's life,
    and how to tell whether another holder is still alive."""

    def __init__(self, leases: Leases) -> None:
        self.leases = leases
        self._lease = leases.hold()
        self.token = self._lease.token

    def dead(self, tokens: Iterable[str | None]) -> list[str]:
        """The holders among ``tokens`` whose lease is gone (never this process)."""
        return [t for t in dict.fromkeys(tokens)
                if t is not None and t != self.token and not self.leases.alive(t)]

    def release(self) -> None:
        self._lease.release()


def leases_beside(database: Path) -> Leases:
    """The leases of the senders on ``database``: file locks beside it, or in this
    process if the database has no file.

    A name like « file:chatshop.db » is a file like any other (chatshop does not open
    databases as URIs), and the file is found through any symbolic link, as SQLite
    finds it: every process on one database sees the same leases, however it names it.
    """
    if str(database) == ":memory:":
        return LocalLeases()
    return FileLeases(Path(os.path.realpath(database)))


def _new_token() -> str:
    return secrets.token_hex(8)  # 64 random bits: never the same twice


class FileLeases:
    """Leases as ``flock`` locks on files beside the database (one machine)."""

    def __init__(self, database: Path) -> None:
        self._folder = database.parent
        self._prefix = f"{database.name}.digest-"

    def path(self, token: str) -> Path:
        return self._folder / f"{self._prefix}{token}.lock"

    def hold(self) -> FileLease:
        self.sweep()
        while True:
            token = _new_token()
            path = self.path(token)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                # Blocking: only a sweep that opened the new file can hold it, briefly.
                fcntl.flock(fd, fcntl.LOCK_EX)
                if _same_file(path, fd):
                    return FileLease(token, path, fd)
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # a sweep took it for a dead one's and removed it: again

    def alive(self, token: str) -> bool:
        try:
            fd = os.open(self.path(token), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False  # released, or found dead and removed
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            # Nobody holds it: its sender is gone. Its file goes too.
            if _same_file(self.path(token), fd):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path(token))
            return False
        finally:
            os.close(fd)

    def sweep(self) -> int:
        """Remove the files of dead leases (a killed sender leaves its own); returns
        how many."""
        gone = 0
        for found in self._folder.glob(f"{self._prefix}*.lock"):
            token = found.name[len(self._prefix):-len(".lock")]
            if found.is_file() and not self.alive(token):
                gone += 1
        return gone


class FileLease:
    """A held ``flock`` lock on the lease's file."""

    def __init__(self, token: str, path: Path, fd: int) -> None:
        self._token = token
        self._path = path
        self._fd: int | None = fd

    @property
    def token(self) -> str:
        return self._token

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)  # before the lock goes: nobody finds it half-dead
        os.close(self._fd)  # the lock goes with the last descriptor
        self._fd = None


def _same_file(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (it was not removed)."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


class LocalLeases:
    """Leases of one process's own database (``:memory:``)."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    def hold(self) -> LocalLease:
        lease = LocalLease(_new_token(), self._held)
        self._held.add(lease.token)
        return lease

    def alive(self, token: str) -> bool:
        return token in self._held


class LocalLease:
    def __init__(self, token: str, held: set[str]) -> None:
        self._token = token
        self._held = held

    @property
    def token(self) -> str:
        return self._token

    def release(self) -> None:
        self._held.discard(self._token)
