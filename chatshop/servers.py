"""The process's web servers: which addresses it serves (the webhooks' address, the shop
window's), binding them before anything starts, and uvicorn started and stopped on them.

Addresses are bound here rather than by uvicorn: uvicorn says a port in use with a log
line and ``SystemExit`` inside its task, which ``asyncio.run`` lets out with a traceback.
A failure is a ``ConfigError`` naming the setting to change, in French then English.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from chatshop.config import Settings
from chatshop.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class Site:
    """One address the process listens on, and what it serves there: the webhooks
    (``webhook_app``'s options) and/or the shop window."""

    host: str
    port: int
    host_variable: str  # the settings that move it, named when it cannot be bound
    port_variable: str
    webhooks: dict[str, Any] = field(default_factory=dict)
    window: bool = False
    sockets: list[socket.socket] = field(default_factory=list)

    @property
    def address(self) -> str:
        """``http://host:port`` as bound (the port the system chose for port 0)."""
        port = self.sockets[0].getsockname()[1] if self.sockets else self.port
        host = self.host or "0.0.0.0"
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def bind_sites(settings: Settings, webhooks: dict[str, Any], *,
               window: bool | None = None) -> list[Site]:
    """The addresses to serve, bound: the webhooks' (WhatsApp's when it is on, else
    Telegram's) when there are webhooks, and the window's (``CHATSHOP_WEB_HOST:PORT``)
    when it is on (``window``: the settings' ``web_enabled`` unless given); one site
    when both are the same address."""
    sites: list[Site] = []
    if webhooks:
        on_whatsapp = "whatsapp" in webhooks
        prefix = "CHATSHOP_WHATSAPP_" if on_whatsapp else "CHATSHOP_TELEGRAM_"
        sites.append(Site(
            host=settings.whatsapp_listen if on_whatsapp else settings.telegram_listen,
            port=settings.whatsapp_port if on_whatsapp else settings.telegram_port,
            host_variable=prefix + "LISTEN", port_variable=prefix + "PORT",
            webhooks=webhooks))
    if settings.web_enabled if window is None else window:
        same = next((site for site in sites if (site.host, site.port)
                     == (settings.web_host, settings.web_port)), None)
        if same is not None:
            same.window = True
        else:
            sites.append(Site(host=settings.web_host, port=settings.web_port,
                              host_variable="CHATSHOP_WEB_HOST",
                              port_variable="CHATSHOP_WEB_PORT", window=True))
    try:
        for site in sites:
            site.sockets = _listening(site)
    except BaseException:
        for site in sites:
            site.close()
        raise
    return sites


def _listening(site: Site) -> list[socket.socket]:
    host, port = site.host, site.port
    try:
        return _bind(host, port)
    except socket.gaierror:
        raise ConfigError(f"{site.host_variable} : adresse inconnue / unknown address "
                          f"« {host} »") from None
    except OSError as problem:
        if problem.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"Le port {port} ({site.port_variable}) est déjà utilisé : libérez-le ou "
                f"choisissez-en un autre / port {port} is already in use: free it or "
                f"choose another one") from None
        if problem.errno == errno.EACCES:
            raise ConfigError(
                f"Le port {port} ({site.port_variable}) est réservé à l'administrateur : "
                f"choisissez-en un au-dessus de 1023 / port {port} needs administrator "
                f"rights: choose one above 1023") from None
        if problem.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(
                f"{site.host_variable} : impossible d'écouter sur {host}:{port}, ce n'est "
                f"pas une adresse de cette machine / cannot listen on {host}:{port}: not "
                f"an address of this machine") from None
        raise ConfigError(f"{site.host_variable} : impossible d'écouter sur {host}:{port} / "
                          f"cannot listen on {host}:{port}: {problem.strerror or problem}"
                          ) from None


def _bind(host: str, port: int) -> list[socket.socket]:
    """Sockets bound as ``loop.create_server(host=..., port=...)`` binds them (which is
    what uvicorn does): one per address of ``host`` (all interfaces when empty),
    ``SO_REUSEADDR`` on POSIX, IPv6 ones IPv6 only, an address family the machine has
    not enabled skipped. Port 0: the system chooses one, the same for every address."""
    infos = dict.fromkeys(socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                             flags=socket.AI_PASSIVE))
    bound: list[socket.socket] = []
    unavailable: OSError | None = None
    try:
        for family, kind, proto, _name, address in infos:
            if port == 0 and bound:  # the port the first address was given, for all
                address = (address[0], bound[0].getsockname()[1], *address[2:])
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            if os.name == "posix" and sys.platform != "cygwin":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as problem:
                if problem.errno != errno.EADDRNOTAVAIL:
                    raise
                bound.pop().close()
                unavailable = problem
        if not bound:
            raise unavailable or OSError(errno.EADDRNOTAVAIL, "no address to listen on")
    except BaseException:
        for sock in bound:
            sock.close()
        raise
    return bound


@dataclass
class Server:
    """uvicorn serving one site, as an asyncio task."""

    site: Site
    uvicorn: Any
    task: asyncio.Task[None]

    @property
    def address(self) -> str:
        return self.site.address

    async def stop(self) -> None:
        self.uvicorn.should_exit = True
        await self.task


def _uvicorn_server(config: Any) -> Any:
    """uvicorn's server, leaving the signals to chatshop: uvicorn would otherwise take
    SIGINT and SIGTERM for itself while it serves (``Server.capture_signals``), stop
    only the web server, and hand the signal back once it has stopped — the demo's
    Ctrl-C then waited for an Enter, and ``chatshop run`` heard of it only after its
    servers. Each command's own handlers (``chatshop run``: stop everything in order;
    the demo: Ctrl-C) decide."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)


async def _serving(server: Any, sockets: list[socket.socket]) -> None:
    """uvicorn's server until it is told to exit; a start it gives up on (``SystemExit``)
    ends the task quietly, and ``start_server`` says so in one line."""
    try:
        await server.serve(sockets=sockets)
    except SystemExit:
        log.debug("the web server did not start")


async def start_server(site: Site, asgi: Any) -> Server:
    """uvicorn on the site's bound sockets, once it has started."""
    import uvicorn

    # No « server: uvicorn » header: nothing for a visitor to learn about what runs here.
    # Forwarded client addresses are trusted from 127.0.0.1 only (uvicorn's default,
    # FORWARDED_ALLOW_IPS): the window's rate limit then counts the visitor, not the proxy.
    server = _uvicorn_server(uvicorn.Config(asgi, host=site.host, port=site.port,
                                            log_level="warning", server_header=False))
    task = asyncio.create_task(_serving(server, site.sockets))
    while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has no event
        await asyncio.sleep(0.05)
    if task.done():  # bound, yet uvicorn gave up (its lifespan start failed...)
        raise ConfigError(f"{site.port_variable} : impossible d'écouter sur / cannot listen "
                          f"on {site.host}:{site.port}")
    return Server(site, server, task)
