"""Use cases that every channel calls: shops and staff, catalogue, search, baskets,
reservations and customers. Services take and return domain models, check who may do
what, and raise ``DomainError`` for anything a user must be told. No SQL, no platform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from chatshop.clock import Clock, utc_now
from chatshop.services.access import Access
from chatshop.services.alerts import AlertService
from chatshop.services.baskets import BasketService
from chatshop.services.catalogue import CatalogueService
from chatshop.services.channel_posts import ChannelPostService
from chatshop.services.conversations import ConversationService
from chatshop.services.counter import CounterService
from chatshop.services.customers import CustomerService
from chatshop.services.day import DayService
from chatshop.services.delivery import DeliveryService
from chatshop.services.digest import DEFAULT_SCHEDULE, DigestService
from chatshop.services.figures import FiguresService
from chatshop.services.images import ImageService
from chatshop.services.pickups import PickupService
from chatshop.services.reservations import ReservationService
from chatshop.services.search import SearchService
from chatshop.services.shops import ShopService
from chatshop.services.sitemap import SitemapService
from chatshop.services.window import WindowService
from chatshop.storage.interface import Store

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class Services:
    """Every use case, wired to one store and one clock."""

    customers: CustomerService
    shops: ShopService
    catalogue: CatalogueService
    search: SearchService
    baskets: BasketService
    reservations: ReservationService
    delivery: DeliveryService
    digest: DigestService
    clock: Clock
    conversations: ConversationService
    images: ImageService
    window: WindowService
    sitemap: SitemapService
    channel_posts: ChannelPostService
    counter: CounterService
    day: DayService
    alerts: AlertService
    pickups: PickupService
    figures: FiguresService


def build_services(store: Store, *, operators: frozenset[tuple[str, str]] = frozenset(),
                   clock: Clock = utc_now, tz: ZoneInfo = PARIS,
                   digest_schedule: tuple[int, time] = DEFAULT_SCHEDULE) -> Services:
    """Every use case over ``store``; ``operators`` are ``(channel, user_id)`` pairs;
    ``tz`` is the territory's timezone (opening hours are local times)."""
    access = Access(store, operators)
    images = ImageService(store, clock)  # shared: it bounds Pillow's work at once
    return Services(
        customers=CustomerService(store, access, clock),
        shops=ShopService(store, access, clock),
        catalogue=CatalogueService(store, access, clock),
        search=SearchService(store),
        baskets=BasketService(store, clock),
        reservations=ReservationService(store, access, clock, tz),
        delivery=DeliveryService(store, clock, images),
        digest=DigestService(store, access, clock, tz, digest_schedule),
        clock=clock,
        conversations=ConversationService(store),
        images=images,
        window=WindowService(store, clock),
        sitemap=SitemapService(store),
        channel_posts=ChannelPostService(store, clock),
        counter=CounterService(store, access, clock, tz),
        day=DayService(store, access, clock, tz),
        alerts=AlertService(store, access, clock),
        pickups=PickupService(store, access, clock, tz),
        figures=FiguresService(store, access, clock, tz),
    )
