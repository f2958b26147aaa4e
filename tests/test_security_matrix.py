"""Who may do what, service by service: every public coroutine method of the service classes
that takes an ``Actor`` has a row in ``MATRIX`` (who may call it, on shop A's objects), and every
other one is listed in ``NEEDS_NO_ACTOR`` with the reason it needs none, so that a new method
nobody thought about fails here. A refused call answers a polite French sentence and changes
nothing.

The same through the chat is in tests/test_security_chat.py; the territory is tests/world.py's.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import time
from typing import Any

import pytest

from chatshop.domain.models import (
    Actor,
    Contact,
    OpeningInterval,
    ProductChanges,
    ReservationStatus,
    Role,
    ShopDetails,
    StockReason,
)
from chatshop.domain.parsing import StockChange
from chatshop.domain.product_csv import template_csv
from chatshop.errors import DomainError, NotAllowed, NotFound
from chatshop.services import Services
from tests.world import World, refusals

ACTORS = ("operator", "owner_a", "staff_a", "owner_b", "customer", "unknown")


OPERATOR_ONLY = frozenset({"operator"})
OWNERS = OPERATOR_ONLY | {"owner_a"}
STAFF = OWNERS | {"staff_a"}

Call = Callable[["World", Actor], Awaitable[Any]]
Check = Callable[["World", Any], bool]


@dataclass(frozen=True)
class Action:
    """One action on shop A's objects: who may do it, and how a refusal shows."""

    method: str  # ``Class.method``: what the coverage test counts
    allowed: frozenset[str]
    call: Call
    check: Check | None = None  # what an allowed call must return
    writes: bool = True  # an allowed call changes the database
    refused_with: type[DomainError] = NotAllowed
    variant: str = ""

    @property
    def id(self) -> str:
        return f"{self.method}[{self.variant}]" if self.variant else self.method


def _ids(items: Any) -> set[int]:
    return {item.id for item in items}


MATRIX = [
    # -- shops, staff, hosting
    Action("ShopService.add_commune", OPERATOR_ONLY,
           lambda w, a: w.services.shops.add_commune(a, "Saint-Junien", "87200")),
    Action("ShopService.create_shop", OPERATOR_ONLY,
           lambda w, a: w.services.shops.create_shop(a, "Fromagerie", w.cast.commune.id)),
    Action("ShopService.update_shop", STAFF,
           lambda w, a: w.services.shops.update_shop(a, w.cast.shop_a.id,
                                                     ShopDetails(phone="05 55 03 00 00")),
           check=lambda w, shop: shop.phone == "+33555030000", variant="card"),
    Action("ShopService.update_shop", OPERATOR_ONLY,
           lambda w, a: w.services.shops.update_shop(a, w.cast.shop_a.id,
                                                     ShopDetails(active=False)),
           check=lambda w, shop: not shop.active, variant="deactivate"),
    Action("ShopService.update_shop", OPERATOR_ONLY,
           lambda w, a: w.services.shops.update_shop(
               a, w.cast.shop_a.id, ShopDetails(commune_id=w.cast.other_commune.id)),
           variant="move to another commune"),
    Action("ShopService.set_hours", STAFF,
           lambda w, a: w.services.shops.set_hours(a, w.cast.shop_a.id, [
               OpeningInterval(weekday=1, opens=time(9), closes=time(12))])),
    Action("ShopService.set_holiday", STAFF,
           lambda w, a: w.services.shops.set_holiday(a, w.cast.shop_a.id, True, "Lundi.")),
    Action("ShopService.set_announcement", STAFF,
           lambda w, a: w.services.shops.set_announcement(a, w.cast.shop_a.id,
                                                          "Nouvelle récolte !")),
    Action("ShopService.set_photo", STAFF,
           lambda w, a: w.services.shops.set_photo(a, w.cast.shop_a.id, "telegram",
                                                   "AgAC-devanture")),
    Action("ShopService.browse_all", OPERATOR_ONLY,
           lambda w, a: w.services.shops.browse_all(a),
           check=lambda w, page: w.cast.shop_a.id in _ids(page.items), writes=False),
    Action("ShopService.figures", OPERATOR_ONLY,
           lambda w, a: w.services.shops.figures(a, w.clock()),
           check=lambda w, figures: figures.active_shops == 3, writes=False),
    Action("ShopService.invite", OWNERS,
           lambda w, a: w.services.shops.invite(a, w.cast.shop_a.id, Role.STAFF),
           check=lambda w, invite: invite.shop_id == w.cast.shop_a.id, variant="staff"),
    Action("ShopService.invite", OPERATOR_ONLY,
           lambda w, a: w.services.shops.invite(a, w.cast.shop_a.id, Role.OWNER),
           variant="owner"),
    Action("ShopService.staff", STAFF,
           lambda w, a: w.services.shops.staff(a, w.cast.shop_a.id),
           check=lambda w, staff: len(staff) == 3, writes=False),
    Action("ShopService.remove_staff", OWNERS,
           lambda w, a: w.services.shops.remove_staff(a, w.cast.shop_a.id,
                                                      w.cast.apprentice.id)),
    Action("ShopService.ask_hosting", STAFF,  # A asks B to display its products
           lambda w, a: w.services.shops.ask_hosting(a, w.cast.shop_a.id, w.cast.shop_b.id)),
    Action("ShopService.accept_hosting", STAFF,  # B asked A: only A answers
           lambda w, a: w.services.shops.accept_hosting(a, w.cast.shop_a.id,
                                                        w.cast.shop_b.id)),
    Action("ShopService.end_hosting", STAFF | {"owner_b"},  # either side may end it
           lambda w, a: w.services.shops.end_hosting(a, w.cast.shop_a.id, w.cast.shop_b.id)),
    Action("ShopService.hostings", STAFF,
           lambda w, a: w.services.shops.hostings(a, w.cast.shop_a.id),
           check=lambda w, found: len(found) == 3, writes=False),
    # -- the catalogue
    Action("CatalogueService.add_category", OPERATOR_ONLY,
           lambda w, a: w.services.catalogue.add_category(a, "Produits du terroir")),
    Action("CatalogueService.edit_category", OPERATOR_ONLY,
           lambda w, a: w.services.catalogue.edit_category(a, w.cast.category.id,
                                                           name="Épicerie fine")),
    Action("CatalogueService.add_product", STAFF,
           lambda w, a: w.services.catalogue.add_product(a, w.cast.shop_a.id, name="Confiture",
                                                         price_cents=520, on_hand=6),
           check=lambda w, product: product.shop_id == w.cast.shop_a.id),
    Action("CatalogueService.update_product", STAFF,
           lambda w, a: w.services.catalogue.update_product(
               a, w.cast.honey.id, ProductChanges(price_cents=10)),
           check=lambda w, product: product.price_cents == 10),
    Action("CatalogueService.update_product", OPERATOR_ONLY,  # the host does not manage it
           lambda w, a: w.services.catalogue.update_product(
               a, w.cast.pottery.id, ProductChanges(hidden=True)),
           variant="hosted product"),
    Action("CatalogueService.delete_product", STAFF,
           lambda w, a: w.services.catalogue.delete_product(a, w.cast.soap.id)),
    Action("CatalogueService.set_photo", STAFF,
           lambda w, a: w.services.catalogue.set_photo(a, w.cast.honey.id, "telegram",
                                                       "AgAC-miel")),
    Action("CatalogueService.place", STAFF,
           lambda w, a: w.services.catalogue.place(a, w.cast.honey.id, w.cast.shop_c.id),
           check=lambda w, product: product.host_shop_id == w.cast.shop_c.id),
    Action("CatalogueService.maker_products", STAFF,
           lambda w, a: w.services.catalogue.maker_products(a, w.cast.shop_a.id),
           check=lambda w, page: _ids(page.items) == {w.cast.honey.id, w.cast.soap.id},
           writes=False),
    Action("CatalogueService.import_products", STAFF,
           lambda w, a: w.services.catalogue.import_products(a, w.cast.shop_a.id,
                                                             template_csv()),
           check=lambda w, report: report.updated == 1),  # the template's « Savon lavande »
    Action("CatalogueService.every_product", STAFF,
           lambda w, a: w.services.catalogue.every_product(a, w.cast.shop_a.id),
           check=lambda w, found: _ids(found) == {w.cast.honey.id, w.cast.soap.id},
           writes=False),
    Action("CatalogueService.export_products", STAFF,
           lambda w, a: w.services.catalogue.export_products(a, w.cast.shop_a.id),
           check=lambda w, data: "Savon lavande" in data.decode("utf-8-sig"), writes=False),
    Action("CatalogueService.set_stock", STAFF,
           lambda w, a: w.services.catalogue.set_stock(a, w.cast.honey.id, 7),
           check=lambda w, product: product.on_hand == 7),
    Action("CatalogueService.set_stock", OPERATOR_ONLY,  # the host does not manage it
           lambda w, a: w.services.catalogue.set_stock(a, w.cast.pottery.id, 7),
           variant="hosted product"),
    Action("CatalogueService.add_stock", STAFF,
           lambda w, a: w.services.catalogue.add_stock(a, w.cast.honey.id, 2)),
    Action("CatalogueService.remove_stock", STAFF,
           lambda w, a: w.services.catalogue.remove_stock(a, w.cast.honey.id, 2)),
    Action("CatalogueService.change_stock", STAFF,
           lambda w, a: w.services.catalogue.change_stock(
               a, w.cast.honey.id, StockChange(StockReason.ADDED, 2)),
           check=lambda w, product: product.on_hand == w.cast.honey.on_hand + 2),
    Action("CatalogueService.change_stock", OPERATOR_ONLY,  # the host does not manage it
           lambda w, a: w.services.catalogue.change_stock(
               a, w.cast.pottery.id, StockChange(StockReason.SET, 7)),
           variant="hosted product"),
    Action("CatalogueService.last_movement", STAFF,
           lambda w, a: w.services.catalogue.last_movement(a, w.cast.honey.id),
           check=lambda w, line: line > 0, writes=False),
    Action("CatalogueService.stock_history", STAFF,
           lambda w, a: w.services.catalogue.stock_history(a, w.cast.honey.id),
           check=lambda w, moves: len(moves) == 1, writes=False),
    # -- reservations
    Action("ReservationService.for_shop", STAFF,
           lambda w, a: w.services.reservations.for_shop(a, w.cast.shop_a.id),
           check=lambda w, found: _ids(found) == {w.cast.reservation.id}, writes=False),
    Action("ReservationService.for_staff", STAFF,
           lambda w, a: w.services.reservations.for_staff(a, w.cast.reservation.id),
           check=lambda w, found: found.id == w.cast.reservation.id, writes=False),
    Action("ReservationService.find_by_code", STAFF,  # others are not even told it exists
           lambda w, a: w.services.reservations.find_by_code(a, w.cast.reservation.code),
           check=lambda w, found: found.id == w.cast.reservation.id, writes=False,
           refused_with=NotFound),
    Action("ReservationService.mark_ready", STAFF,
           lambda w, a: w.services.reservations.mark_ready(a, w.cast.reservation.id),
           check=lambda w, done: done.status is ReservationStatus.READY),
    Action("ReservationService.mark_collected", STAFF,
           lambda w, a: w.services.reservations.mark_collected(a, w.cast.reservation.id),
           check=lambda w, done: done.status is ReservationStatus.COLLECTED),
    Action("ReservationService.cancel_by_shop", STAFF,
           lambda w, a: w.services.reservations.cancel_by_shop(a, w.cast.reservation.id,
                                                               "Plus de miel, désolée."),
           check=lambda w, done: done.status is ReservationStatus.CANCELLED_BY_SHOP),
    Action("ReservationService.cancel_by_customer", frozenset({"customer"}),
           # by user id (the writer's own, never one from a button): only theirs
           lambda w, a: w.services.reservations.cancel_by_customer(a.user_id,
                                                                   w.cast.reservation.id),
           check=lambda w, done: done.status is ReservationStatus.CANCELLED_BY_CUSTOMER,
           refused_with=NotFound),
    # -- the weekly digest
    Action("DigestService.preview", OPERATOR_ONLY,
           lambda w, a: w.services.digest.preview(a),
           check=lambda w, digest: digest.user_id == w.cast.actors["operator"].user_id,
           writes=False),
    Action("DigestService.start_week", OPERATOR_ONLY,
           lambda w, a: w.services.digest.start_week("telegram", actor=a),
           check=lambda w, run_id: run_id is not None, variant="send now"),
    # #12 V: how many people wait for a product, for its maker's or its host's staff
    Action("AlertService.waiting_count", STAFF,  # #12 V
           lambda w, a: w.services.alerts.waiting_count(a, w.cast.soap.id),
           check=lambda w, n: n == 0, writes=False),
    Action("AlertService.waiting_count", STAFF,  # #12 V: the host's staff see it too
           lambda w, a: w.services.alerts.waiting_count(a, w.cast.pottery.id),
           check=lambda w, n: n == 0, writes=False, variant="hosted product"),
    # #12 U: a shop's 8 weeks for its staff, the territory's for the operator
    Action("FiguresService.shop_weeks", STAFF,  # #12 U
           lambda w, a: w.services.figures.shop_weeks(a, w.cast.shop_a.id),
           check=lambda w, figures: len(figures.weeks) == 8, writes=False),
    Action("FiguresService.territory_weeks", OPERATOR_ONLY,  # #12 U
           lambda w, a: w.services.figures.territory_weeks(a),
           check=lambda w, figures: figures.scope is None, writes=False),
    # #12 J: the day's list carries phone contacts: the shop's own team only, not the
    # operator
    Action("DayService.today", frozenset({"owner_a", "staff_a"}),  # #12 J
           lambda w, a: w.services.day.today(a, w.cast.shop_a.id),
           check=lambda w, day: w.cast.reservation.id in {r.id for r in day.all},
           writes=False),
    # #12 T: the counter and the phone, for the staff of the maker's or the host's shop
    Action("CounterService.product", STAFF,  # #12 T
           lambda w, a: w.services.counter.product(a, w.cast.soap.id),
           check=lambda w, product: product.id == w.cast.soap.id, writes=False),
    Action("CounterService.product", STAFF,  # #12 T: the host's staff take it too
           lambda w, a: w.services.counter.product(a, w.cast.pottery.id),
           check=lambda w, product: product.id == w.cast.pottery.id, writes=False,
           variant="hosted product"),
    Action("CounterService.reserve", STAFF,  # #12 T
           lambda w, a: w.services.counter.reserve(a, w.cast.soap.id, 1,
                                                   Contact(name="Mme Dupont"), "by-phone"),
           check=lambda w, placed: placed.reservations[0].by_phone),
    Action("CounterService.sell", STAFF,  # #12 T
           lambda w, a: w.services.counter.sell(a, w.cast.soap.id, 1),
           check=lambda w, product: product.on_hand == w.cast.soap.on_hand - 1),
    Action("CounterService.last_movement", STAFF,  # #12 T
           lambda w, a: w.services.counter.last_movement(a, w.cast.soap.id),
           check=lambda w, line: line > 0, writes=False),
    # #12 T: a chat reservation has no person to show or erase, for anyone (the pickup
    # shop's staff only see a phone one's: tests/test_counter.py, through the chat)
    Action("CounterService.phone_reservation", frozenset(),  # #12 T
           lambda w, a: w.services.counter.phone_reservation(a, w.cast.reservation.id),
           writes=False, refused_with=NotFound),
    Action("CounterService.erase_contact", frozenset(),  # #12 T
           lambda w, a: w.services.counter.erase_contact(a, w.cast.reservation.id),
           refused_with=NotFound),
]

# Public use cases that take no Actor, and why none is needed. A new method must be added
# here (or to MATRIX): whoever adds it decides who may call it.
NEEDS_NO_ACTOR: dict[str, set[str]] = {
    "the person themselves: the conversation passes the writer's own user id or platform "
    "id, never one read from a button": {
        "CustomerService.seen", "CustomerService.session", "CustomerService.export",
        "CustomerService.erase", "CustomerService.set_phone",
        "CustomerService.blocked_the_bot",
        "BasketService.add", "BasketService.set_quantity", "BasketService.remove",
        "BasketService.baskets", "BasketService.item_count", "BasketService.clear",
        "ReservationService.confirm_basket", "ReservationService.place_basket",
        "ReservationService.reserve_now", "ReservationService.place_now",
        "ReservationService.of_customer",
        "DigestService.subscribe", "DigestService.toggle", "DigestService.unsubscribe",
        "DigestService.subscription", "DigestService.this_week",
        "ShopService.accept_invite",  # the code is the permission (tested below)
        "ShopService.memberships",
        # The writer's own session and conversation state, found by their platform id.
        "ConversationService.session", "ConversationService.save",
    },
    "what every customer may see": {
        "ShopService.communes", "ShopService.communes_with_shops", "ShopService.commune",
        "ShopService.get",
        "ShopService.by_slug", "ShopService.browse",
        "CatalogueService.categories", "CatalogueService.product", "CatalogueService.listed",
        "CatalogueService.shop_catalogue", "CatalogueService.shop_categories",
        "SearchService.search",
        "SearchService.suggest",  # only words that find listed products
    },
    "the bot's own work (scheduled jobs, channels, notifications); never reached from "
    "a button": {
        "CustomerService.get", "ShopService.people_to_notify",
        "ShopService.people_who_run_shops",
        "ReservationService.get", "ReservationService.expire_overdue",
        "ReservationService.send_reminders",
        "DigestService.gather", "DigestService.compose",
        "DigestService.territory_news", "DigestService.start_if_due",
        "DigestService.unfinished_runs", "DigestService.claim", "DigestService.left",
        "DigestService.mark", "DigestService.finish", "DigestService.report",
        "DigestService.subscriber_count",
        "DeliveryService.receive", "DeliveryService.receive_many", "DeliveryService.handled",
        "DeliveryService.waiting", "DeliveryService.queue", "DeliveryService.due",
        "DeliveryService.delivered", "DeliveryService.failed_later",
        "DeliveryService.keep_media", "DeliveryService.media", "DeliveryService.retry_later",
        "DeliveryService.refused", "DeliveryService.unreachable", "DeliveryService.told_about",
        "DeliveryService.waiting_count", "DeliveryService.clean_up",
        "DeliveryService.take_over", "DeliveryService.leads", "DeliveryService.send_slot",
    },
    "the window's photos: only a photo a listed product or an active shop shows is served "
    "(shown); keeping, cleaning and sizing is the channels' and `chatshop photos fetch`'s work": {
        "ImageService.shown", "ImageService.variant", "ImageService.keep",
        "ImageService.backfill", "ImageService.uncleaned_count",
    },
    "the public shop window: what anyone may read without being anyone, active shops and "
    "visible products only, never a person (tests/test_web_pages_safety.py)": {
        "WindowService.news", "WindowService.product", "WindowService.shop",
        "WindowService.shop_categories", "WindowService.shop_products",
        "WindowService.shops_by_commune", "SitemapService.product_count",
        "SitemapService.shops",
    },
    "the territory channel's posts: a scheduled job of the runtime, never reached from a "
    "button (tests/test_channel_posts.py)": {
        "ChannelPostService.post_due", "ChannelPostService.reached",
        "ChannelPostService.trouble",
    },
    # #12 V
    "« Prévenez-moi »: the person themselves (the writer's own user id, never one from a "
    "button: another's alert is not found), and the runtime's telling and clean-up": {
        "AlertService.ask", "AlertService.of_customer", "AlertService.cancel",
        "AlertService.export", "AlertService.waiting_for", "AlertService.tell",
        "AlertService.clean_up",
    },
    # #12 G
    "« Quand passez-vous ? »: the person themselves (the writer's own user id; another's "
    "reservation is not found, tests/test_pickups.py), the runtime's morning reminders, "
    "and the no-show count shown to the staff only, on a reservation they already see": {
        "PickupService.choice", "PickupService.choose", "PickupService.send_reminders",
        "PickupService.not_collected",
    },
    # #12 U
    "the Monday figures: the runtime's weekly job, to each shop's own staff, never "
    "reached from a button": {"FiguresService.send_weekly"},
    # #12 J
    "the morning message: the runtime's job, to each shop's own team, never reached "
    "from a button": {"DayService.send_mornings"},
    # #12 T
    "the daily clean-up: phone contacts 30 days after their reservation closed": {
        "CounterService.drop_old_contacts"},
}


def service_methods() -> dict[str, bool]:
    """Every public coroutine method of the services, and whether it takes an Actor."""
    found: dict[str, bool] = {}
    for service in typing.get_type_hints(Services).values():
        if not inspect.isclass(service):
            continue
        for name, method in inspect.getmembers(service, inspect.iscoroutinefunction):
            if name.startswith("_"):
                continue
            hints = typing.get_type_hints(method)
            found[f"{service.__name__}.{name}"] = any(
                hint in (Actor, Actor | None) for key, hint in hints.items() if key != "return")
    return found


def test_every_service_method_taking_an_actor_is_in_the_matrix() -> None:
    methods = service_methods()
    guarded = {name for name, takes_actor in methods.items() if takes_actor}
    assert guarded, "no service method takes an Actor: the introspection is broken"
    missing = guarded - {action.method for action in MATRIX}
    assert not missing, f"add these to MATRIX (who may call them?): {sorted(missing)}"


def test_every_other_service_method_says_why_it_needs_no_actor() -> None:
    methods = service_methods()
    excused = set().union(*NEEDS_NO_ACTOR.values())
    unguarded = {name for name, takes_actor in methods.items() if not takes_actor}
    in_matrix = {action.method for action in MATRIX}  # checked by user id there
    assert not unguarded - excused - in_matrix, (
        f"these take no Actor: add a permission check and a MATRIX row, or list them in "
        f"NEEDS_NO_ACTOR with the reason: {sorted(unguarded - excused - in_matrix)}")
    assert not excused - unguarded, f"stale NEEDS_NO_ACTOR entries: {sorted(excused - unguarded)}"
    assert {a.method for a in MATRIX} <= set(methods)


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("action", MATRIX, ids=lambda action: action.id)
async def test_the_authorization_matrix(world: World, action: Action, who: str) -> None:
    actor = world.cast.actors[who]
    before = world.snapshot()
    if who in action.allowed:
        result = await action.call(world, actor)
        if action.check is not None:
            assert action.check(world, result), result
        if action.writes:
            assert world.snapshot() != before, "allowed, yet nothing happened"
        return
    with pytest.raises(DomainError) as refused:
        await action.call(world, actor)
    assert type(refused.value) is action.refused_with, refused.value
    assert refused.value.message() in refusals()
    assert world.snapshot() == before

