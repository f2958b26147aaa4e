"""What the shop window is made from, given once by the wiring (``chatshop.app``): the
territory's name and timezone, its addresses (``Links``), who publishes it (for the
« Mentions légales » page) and how many requests one address may make a minute."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from chatshop.clock import Clock, utc_now
from chatshop.services.links import Links


@dataclass(frozen=True)
class Publisher:
    """The operator as publisher of the window and controller of the bot's data (French
    law, LCEN art. 6 and the GDPR, asks a site to name them). Each may be empty: the
    page then says the operator has not filled it in yet."""

    name: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""
    director: str = ""  # directeur de la publication
    hosting: str = ""  # the host's name and address


@dataclass(frozen=True)
class Window:
    territory: str
    tz: ZoneInfo
    links: Links
    publisher: Publisher = field(default_factory=Publisher)
    requests_per_minute: int = 120  # per client address, past which it is 429
    clock: Clock = utc_now
