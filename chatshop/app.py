"""Wiring: settings -> database (migrated) -> services, and the start-up chores.

Channels (later) get an ``App`` and call its services; nothing else builds them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chatshop.clock import Clock, utc_now
from chatshop.config import Settings
from chatshop.services import Services, build_services
from chatshop.storage import Store, open_store

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    store: Store
    services: Services

    async def close(self) -> None:
        await self.store.close()


async def start(settings: Settings, *, clock: Clock = utc_now) -> App:
    """Open and migrate the database, build the services, expire overdue reservations."""
    store = await open_store(settings.database)
    services = build_services(store, operators=settings.operator_ids, clock=clock,
                              tz=settings.tz)
    expired = await services.reservations.expire_overdue()
    if expired:
        log.info("expired %d overdue reservations at start-up", len(expired))
    return App(settings, store, services)
