"""« 📋 Aujourd'hui » (#12 §2): the shop's day through the chat — late reservations, those
to hand over today and those to prepare, each opening its card whose buttons work; the
same list as a PDF to print; nothing for anyone outside the shop's team."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest

from chatshop.conversation.router import Conversation
from chatshop.conversation.routes import TODAY, TODAY_CARD, TODAY_PRINT
from chatshop.domain.codes import reservation_code
from chatshop.domain.day import sort_day
from chatshop.domain.models import (
    Contact,
    OpeningInterval,
    PickupOrder,
    Product,
    Reservation,
    ReservationLine,
    ReservationSource,
    ReservationStatus,
)
from chatshop.storage import Store
from tests.chat import Chat, Postbox
from tests.conftest import FakeClock, Territory

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # Thursday 26 November, 10 h in Paris


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ").replace("’", "'")


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of late November 2026 in Paris (UTC+1), as UTC."""
    return datetime(2026, 11, day, hour - 1, minute, tzinfo=UTC)


# -- the grouping rules, with plain values ------------------------------------------------


def held(code: str, *, status: ReservationStatus = ReservationStatus.PENDING,
         deadline: datetime | None = None, slot: tuple[datetime, datetime] | None = None,
         number: int = 1) -> Reservation:
    return Reservation(
        id=number, code=code, user_id=1, shop_id=1, status=status, total_cents=850,
        created_at=paris(25, 10), deadline_at=deadline or paris(28, 10),
        lines=(ReservationLine(product_id=1, maker_shop_id=1, name="Miel",
                               unit_price_cents=850, quantity=1),),
        pickup_from=slot[0] if slot else None, pickup_until=slot[1] if slot else None)


def test_a_slot_that_ended_is_late_whatever_the_status() -> None:
    day = sort_day([held("AAA", slot=(paris(26, 8), paris(26, 9, 30))),
                    held("BBB", status=ReservationStatus.READY,
                         slot=(paris(25, 14), paris(25, 18)), number=2)], NOW, PARIS)
    assert [r.code for r in day.late] == ["BBB", "AAA"]  # the earliest slot first
    assert day.to_hand_over == day.to_prepare == ()


def test_today_s_slot_today_s_deadline_and_ready_ones_are_to_hand_over() -> None:
    day = sort_day([
        held("SLOT", slot=(paris(26, 14), paris(26, 18)), number=1),
        held("DEAD", deadline=paris(26, 18), number=2),
        held("READY", status=ReservationStatus.READY, deadline=paris(28, 10), number=3),
        held("LATER", slot=(paris(27, 9), paris(27, 12)), deadline=paris(26, 17), number=4),
    ], NOW, PARIS)
    # A slot chosen for tomorrow wins over a deadline of today: the customer said when.
    # Soonest first: the slot's start, else the deadline.
    assert [r.code for r in day.to_hand_over] == ["SLOT", "DEAD", "READY"]
    assert [r.code for r in day.to_prepare] == ["LATER"]
    assert day.late == ()


def test_pending_ones_for_another_day_are_to_prepare_and_closed_ones_are_left_out() -> None:
    day = sort_day([
        held("SAT", deadline=paris(28, 10), number=1),
        held("FRI", deadline=paris(27, 18), number=2),
        held("GONE", status=ReservationStatus.COLLECTED, deadline=paris(26, 18), number=3),
    ], NOW, PARIS)
    assert [r.code for r in day.to_prepare] == ["FRI", "SAT"]
    assert [r.code for r in day.all] == ["FRI", "SAT"]
    assert sort_day([], NOW, PARIS).empty


def test_the_day_is_the_territory_s_not_utc_s() -> None:
    # 23:30 in Paris on Thursday is already Friday in Paris for a moment of 23:30 UTC.
    late_evening = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # Friday 0:30 in Paris
    friday = held("FRI", deadline=paris(27, 18))
    assert sort_day([friday], late_evening, PARIS).to_hand_over == (friday,)


# -- through the chat ---------------------------------------------------------------------


@pytest.fixture
async def people(territory: Territory, conversation: Conversation,
                 postbox: Postbox) -> tuple[Chat, Chat]:
    """Jeanne the customer and Léa, owner of the Épicerie du Château."""
    return (Chat(conversation, "3000", "Jeanne", postbox),
            Chat(conversation, "2000", "Léa", postbox))


async def open_shop(territory: Territory) -> Product:
    """The Épicerie opens Tuesday to Saturday 9 h – 12 h and 14 h – 18 h, sells honey."""
    await territory.services.shops.set_hours(territory.owner, territory.shop.id, [
        OpeningInterval(weekday=day, opens=opens, closes=closes)
        for day in range(1, 6) for opens, closes in ((time(9), time(12)), (time(14), time(18)))])
    return await territory.product("Miel de châtaignier", 850, on_hand=100)


async def by_phone(territory: Territory, store: Store, clock: FakeClock, product: Product,
                   name: str, key: str, deadline: datetime | None = None,
                   quantity: int = 1) -> Reservation:
    """Léa takes an order on the phone (as the counter does, in storage)."""
    (made,) = await store.orders.reserve(
        territory.owner_user.id, key,
        [PickupOrder(shop_id=territory.shop.id,
                     deadline_at=deadline or territory.shop.pickup_deadline(clock(), PARIS),
                     items=((product.id, quantity),))], clock(),
        reservation_code, from_basket=False,
        source=ReservationSource.PHONE, contact=Contact(name=name, phone="0612345678"))
    return made


async def jeanne_reserves(jeanne: Chat, product: Product, territory: Territory) -> Reservation:
    await jeanne.send(f"/start p_{product.id}")
    await jeanne.press("Réserver 1")
    return (await territory.services.reservations.of_customer(territory.customer.id))[0]


async def test_lea_sees_her_day_in_three_groups(
        territory: Territory, people: tuple[Chat, Chat], store: Store,
        clock: FakeClock) -> None:
    jeanne, lea = people
    honey = await open_shop(territory)
    mine = await jeanne_reserves(jeanne, honey, territory)  # held until Saturday 10 h
    await store.pickups.choose(mine.id, territory.customer.id, paris(26, 8), paris(26, 9, 30),
                               reminded_at=None)  # before opening: she is late
    today = await by_phone(territory, store, clock, honey, "Mme Dupont", "dup",
                           deadline=paris(26, 18), quantity=2)
    later = await by_phone(territory, store, clock, honey, "M. Martin", "mar")
    await lea.send("/aujourdhui")
    text = plain(lea.text)
    assert "📋 Épicerie du Château — jeudi 26 novembre 2026" in text
    late, hand_over, prepare = (text.index("En retard (1)"),
                                text.index("À remettre aujourd'hui (1)"),
                                text.index("À préparer (1)"))
    assert late < hand_over < prepare
    assert f"⏳ {mine.code} · Jeanne · 8 h – 9 h 30 · Miel de châtaignier" in text
    assert f"⏳ {today.code} · 📞 Mme Dupont · avant 18:00 · " \
        "Miel de châtaignier ×2" in text
    assert f"{later.code} · 📞 M. Martin · avant sam. 28 nov., 10:00" in text
    assert "0612345678" not in text
    assert "06 12 34 56 78" not in text
    assert any("Imprimer" in label for label in lea.labels)
    assert lea.labels[-1] == "🏠 Menu"
    # The same from the dashboard, and typed as a person would.
    await lea.send("/boutique")
    await lea.press("Aujourd")
    assert "À remettre aujourd'hui (1)" in plain(lea.text)
    await lea.send("/aujourd'hui")
    assert "En retard (1)" in plain(lea.text)


async def test_the_buttons_work_from_the_day_s_list(
        territory: Territory, people: tuple[Chat, Chat], store: Store,
        clock: FakeClock, postbox: Postbox) -> None:
    jeanne, lea = people
    honey = await open_shop(territory)
    mine = await jeanne_reserves(jeanne, honey, territory)
    await lea.send("/aujourdhui")
    await lea.press(mine.code)
    assert f"Réservation {mine.code}" in lea.text
    assert any("Retour" in label for label in lea.labels)
    await lea.press("Prête")
    assert (await store.orders.get(mine.id)).status is ReservationStatus.READY  # type: ignore[union-attr]
    assert "Bonjour" in jeanne.text or postbox.inbox["3000"]  # Jeanne is told
    await lea.press("Aujourd")  # back to the list: now ready, to hand over
    assert f"✅ {mine.code} · Jeanne" in lea.text
    await lea.press(mine.code)
    await lea.press("Retirée et payée")
    assert (await store.orders.get(mine.id)).status is ReservationStatus.COLLECTED  # type: ignore[union-attr]
    await lea.press("Aujourd")
    assert "Rien à préparer ni à remettre aujourd'hui" in plain(lea.text)
    assert "🏠 Menu" in lea.labels


async def test_a_quiet_day_says_so_kindly(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    _jeanne, lea = people
    await open_shop(territory)
    await lea.send("/aujourdhui")
    assert "Rien à préparer ni à remettre aujourd'hui, et rien en retard" in plain(lea.text)
    assert {"⬅️ Retour", "🏠 Menu"} <= set(lea.labels)


async def test_a_busy_day_keeps_to_telegram_s_limits_and_pages_its_buttons(
        territory: Territory, people: tuple[Chat, Chat], store: Store,
        clock: FakeClock) -> None:
    _jeanne, lea = people
    honey = await open_shop(territory)
    made = [await by_phone(territory, store, clock, honey,
                           f"Mme Marie-Christine Delaroche-Fontenelle {n}", f"k{n:03d}")
            for n in range(60)]
    await lea.send("/aujourdhui")
    assert len(lea.text) <= 4096
    assert "le PDF (🖨 Imprimer) les a toutes" in plain(lea.text)
    assert len(lea.labels) <= 8
    seen = {label for label in lea.labels if "·" in label}
    await lea.press("Suivant")
    assert len(lea.labels) <= 8
    following = {label for label in lea.labels if "·" in label}
    assert seen
    assert following
    assert not seen & following
    assert made[4].code in " ".join(following)


async def test_the_day_s_list_prints_as_a_pdf(
        territory: Territory, people: tuple[Chat, Chat], store: Store,
        clock: FakeClock) -> None:
    jeanne, lea = people
    honey = await open_shop(territory)
    mine = await jeanne_reserves(jeanne, honey, territory)
    phoned = await by_phone(territory, store, clock, honey, "Mme Dupont", "dup")
    await lea.send("/aujourdhui")
    await lea.press("Imprimer")
    (reply,) = lea.last
    assert reply.document is not None
    assert reply.document.mime_type == "application/pdf"
    assert reply.document.file_name == "aujourdhui-epicerie-du-chateau-2026-11-26.pdf"
    pdf = pdfium.PdfDocument(reply.document.data)
    text = plain("\n".join(page.get_textpage().get_text_range() for page in pdf))
    assert "Épicerie du Château" in text
    assert "Réservations du jeudi 26 novembre 2026" in text
    assert mine.code in text
    assert phoned.code in text
    assert "Jeanne" in text
    assert "Mme Dupont" in text
    assert "À préparer (2)" in text
    assert pdf[0].get_width() == pytest.approx(595.28, abs=0.5)  # A4


async def test_a_busy_day_prints_on_several_pages(
        territory: Territory, people: tuple[Chat, Chat], store: Store,
        clock: FakeClock) -> None:
    _jeanne, lea = people
    honey = await open_shop(territory)
    made = [await by_phone(territory, store, clock, honey, f"Client {n}", f"p{n:03d}")
            for n in range(60)]
    await lea.send("/aujourdhui")
    await lea.press("Imprimer")
    pdf = pdfium.PdfDocument(lea.last[0].document.data)  # type: ignore[union-attr]
    assert len(pdf) > 1
    text = "\n".join(page.get_textpage().get_text_range() for page in pdf)
    assert all(each.code in text for each in made)


async def test_nobody_outside_the_team_sees_the_day(
        territory: Territory, people: tuple[Chat, Chat], store: Store,
        clock: FakeClock, conversation: Conversation, postbox: Postbox) -> None:
    jeanne, _lea = people
    honey = await open_shop(territory)
    phoned = await by_phone(territory, store, clock, honey, "Mme Dupont", "dup")
    await jeanne.send("/aujourdhui")
    assert "Mme Dupont" not in jeanne.text
    assert phoned.code not in jeanne.text
    for payload in (TODAY.payload(shop=territory.shop.id),
                    TODAY_PRINT.payload(shop=territory.shop.id),
                    TODAY_CARD.payload(reservation=phoned.id)):
        await jeanne.forge(payload)
        assert all(reply.document is None for reply in jeanne.last)
        assert "Mme Dupont" not in jeanne.text
        assert phoned.code not in jeanne.text
        assert "🏠 Menu" in jeanne.labels
    # Another shop's owner neither.
    other, _owner = await territory.open_shop("Boulangerie Martin", "4000")
    paul = Chat(conversation, "4000", "Paul", postbox)
    await paul.forge(TODAY.payload(shop=territory.shop.id))
    assert "Mme Dupont" not in paul.text
    await paul.forge(TODAY_CARD.payload(reservation=phoned.id))
    assert "Mme Dupont" not in paul.text
    await paul.forge("j:x:y")  # broken
    assert "🏠 Menu" in paul.labels
    assert (await store.orders.get(phoned.id)).status is ReservationStatus.PENDING  # type: ignore[union-attr]
    assert other.id != territory.shop.id


async def test_the_dashboard_keeps_to_eight_buttons_with_hosting_under_files(
        territory: Territory, people: tuple[Chat, Chat]) -> None:
    _jeanne, lea = people
    await lea.send("/boutique")
    assert len(lea.labels) <= 8
    assert "📋 Aujourd’hui" in lea.labels
    await lea.press("Chiffres, fichiers, dépôts")
    assert "Produits (CSV)" in " ".join(lea.labels)
    assert "📊 Chiffres" in lea.labels
    assert len(lea.labels) <= 8
    await lea.press("Dépôts")
    assert "🤝 Dépôts" in lea.text
