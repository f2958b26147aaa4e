"""« 📊 Chiffres » (#12 §6), through the chat: a shopkeeper's last 8 weeks as a PNG chart
and as text (picked up, expired, cancelled; the phone's apart), the most reserved
products, the operator's territory version from « /territoire », the Monday message to
the shops that asked for it (once a week), and a bot that does not load matplotlib until
it draws."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from chatshop.conversation.router import Conversation
from chatshop.delivery.runtime import Delivery
from chatshop.domain.models import Contact, PickupOrder, ReservationSource, ShopDetails
from chatshop.services import Services
from chatshop.storage import Store
from tests.chat import Chat, Postbox
from tests.conftest import OPERATOR, FakeClock, Territory
from tests.world import Collecting, runtime_of

NBSP = "\u00a0"


def plain(text: str) -> str:
    return text.replace(NBSP, " ").replace("\u202f", " ").replace("’", "'")


@pytest.fixture
def clock() -> FakeClock:
    # Tuesday 17 November 2026, 10:00 in Paris: the week of Monday 16 November.
    return FakeClock(datetime(2026, 11, 17, 9, 0, tzinfo=UTC))


@pytest.fixture
def telegram() -> Collecting:
    return Collecting("telegram")


@pytest.fixture
def delivery(services: Services, conversation: Conversation,
             telegram: Collecting) -> Delivery:
    return runtime_of(services, conversation, telegram)


@pytest.fixture
def lea(conversation: Conversation, postbox: Postbox, territory: Territory) -> Chat:
    return Chat(conversation, "2000", "Léa", postbox)


async def a_week_at_the_epicerie(territory: Territory, store: Store, clock: FakeClock) -> None:
    """The week of 16 November: Jeanne's honey (2) collected, her soap cancelled, her jam
    not picked up in time; Mme Dupont's honey (3), taken by phone, collected."""
    services, jeanne = territory.services, territory.customer.id
    honey = await territory.product("Miel de châtaignier", 850, on_hand=20)
    soap = await territory.product("Savon lavande", 450, on_hand=20)
    jam = await territory.product("Confiture de mûres", 500, on_hand=20)
    collected = await services.reservations.reserve_now(jeanne, honey.id, 2, "k1")
    cancelled = await services.reservations.reserve_now(jeanne, soap.id, 1, "k2")
    await services.reservations.reserve_now(jeanne, jam.id, 1, "k3")
    (phoned,) = await store.orders.reserve(
        territory.owner_user.id, "phone-1",
        [PickupOrder(shop_id=territory.shop.id,
                     deadline_at=territory.shop.pickup_deadline(clock(), services.figures.tz),
                     items=((honey.id, 3),))], clock(), lambda: "TEL01",
        from_basket=False, source=ReservationSource.PHONE, contact=Contact(name="Mme Dupont"))
    clock.advance(hours=2)
    await services.reservations.mark_collected(territory.owner, collected.id)
    await services.reservations.mark_collected(territory.owner, phoned.id)
    await services.reservations.cancel_by_customer(jeanne, cancelled.id)
    clock.advance(days=4)  # Saturday: the jam's hold is over
    assert len(await services.reservations.expire_overdue()) == 1


async def test_the_shopkeeper_sees_her_weeks_as_a_chart_and_as_text(
        territory: Territory, store: Store, clock: FakeClock, lea: Chat) -> None:
    await a_week_at_the_epicerie(territory, store, clock)
    clock.advance(days=2)  # Monday 23 November, 10:00 in Paris

    (shown,) = await lea.send("/chiffres")

    text = plain(lea.text)
    assert "📊 Épicerie du Château, les 8 dernières semaines" in text
    assert "Semaine du 16 nov. : 2 retirées (1 par téléphone), 1 expirée, 1 annulée" in text
    assert "Semaine du 23 nov. : aucune réservation terminée" in text
    assert "Semaine du 5 oct. :" in text
    assert "28 sept." not in text
    assert "Les plus réservés :\n1. Miel de châtaignier (5)\n2. Confiture de mûres (1)" \
        in text  # the cancelled soap is not among them
    assert shown.document is not None
    assert shown.document.mime_type == "image/png"
    picture = Image.open(io.BytesIO(shown.document.data))
    assert picture.format == "PNG"
    assert picture.size == (1080, 1350)
    assert len(shown.document.data) < 200_000
    assert "Menu" in " ".join(lea.labels)


async def test_a_shop_without_any_reservation_gets_a_kind_sentence_and_no_chart(
        territory: Territory, lea: Chat) -> None:
    (shown,) = await lea.send("/chiffres")

    assert "Pas encore de réservation chez Épicerie du Château" in lea.text
    assert shown.document is None
    assert "Menu" in " ".join(lea.labels)


async def test_someone_running_two_shops_chooses_whose_figures(
        territory: Territory, lea: Chat) -> None:
    await territory.open_shop("Salon Coiffure", "2000")

    await lea.send("/chiffres")
    assert "Les chiffres de quelle boutique" in plain(lea.text)
    await lea.press("Salon Coiffure")

    assert "Pas encore de réservation chez Salon Coiffure" in lea.text


async def test_a_customer_cannot_see_a_shops_figures(
        territory: Territory, store: Store, clock: FakeClock, conversation: Conversation,
        postbox: Postbox, lea: Chat) -> None:
    await a_week_at_the_epicerie(territory, store, clock)
    jeanne = Chat(conversation, "3000", "Jeanne", postbox)

    for tried in (jeanne.send("/chiffres"),
                  jeanne.forge(f"uf:{territory.shop.id}"), jeanne.forge(f"ug:{territory.shop.id}"),
                  jeanne.forge("ut")):
        answers = await tried
        assert answers
        assert all(answer.document is None for answer in answers)
        assert "retirée" not in jeanne.text
        assert "Miel" not in jeanne.text
        assert "Désolé, seule l'équipe de la boutique peut faire cela" in plain(jeanne.text) \
            or "Désolé, seul l'administrateur du territoire" in plain(jeanne.text), jeanne.text


async def test_the_operator_sees_the_whole_territory(
        territory: Territory, store: Store, clock: FakeClock, conversation: Conversation,
        postbox: Postbox) -> None:
    await a_week_at_the_epicerie(territory, store, clock)
    salon, owner = await territory.open_shop("Salon Coiffure", "2100")
    shampoo = await territory.product("Shampooing", 1200, shop=salon, owner=owner)
    made = await territory.services.reservations.reserve_now(
        territory.customer.id, shampoo.id, 1, "salon-1")
    await territory.services.reservations.mark_collected(owner, made.id)
    office = Chat(conversation, OPERATOR[1], "Office de tourisme", postbox)

    await office.send("/territoire")
    (shown,) = await office.press("Chiffres du territoire")

    text = plain(office.text)
    assert "📊 Le territoire, les 8 dernières semaines" in text
    assert "Semaine du 16 nov. : 3 retirées (1 par téléphone), 1 expirée, 1 annulée" in text
    assert "3. Shampooing (1)" in text
    assert shown.document is not None
    assert Image.open(io.BytesIO(shown.document.data)).size == (1080, 1350)


async def test_on_monday_the_shops_that_asked_get_their_figures_once(
        territory: Territory, store: Store, clock: FakeClock, delivery: Delivery,
        telegram: Collecting, lea: Chat) -> None:
    await a_week_at_the_epicerie(territory, store, clock)
    salon, owner = await territory.open_shop("Salon Coiffure", "2100")  # did not ask
    shampoo = await territory.product("Shampooing", 1200, shop=salon, owner=owner)
    await territory.services.reservations.reserve_now(territory.customer.id, shampoo.id, 1,
                                                      "salon-1")
    await territory.services.shops.update_shop(territory.owner, territory.shop.id,
                                               ShopDetails(weekly_figures=True))

    assert await delivery.send_figures() == []  # Saturday: not yet
    clock.advance(days=1, hours=19)  # Monday 23 November, 7:00 in Paris: too early
    assert await delivery.send_figures() == []
    clock.advance(hours=2)  # 9:00

    assert await delivery.send_figures() == [territory.shop.id]
    assert await delivery.send_figures() == []  # once a week
    await delivery.outbox.deliver("telegram")
    (message,) = telegram.sent
    assert message.recipient == "2000"
    text = plain(message.reply.text)
    assert "Semaine du 16 nov. : 2 retirées (1 par téléphone), 1 expirée, 1 annulée" in text
    assert "Semaine du 23 nov." not in text  # the 8 finished weeks
    assert [b.label for b in message.reply.all_buttons] == ["📊 Voir le graphique", "🏠 Menu"]

    lea.last = [message.reply]
    (chart,) = await lea.press("Voir le graphique")
    assert chart.document is not None
    assert Image.open(io.BytesIO(chart.document.data)).format == "PNG"

    clock.advance(days=7)  # the Monday after: told again, of that week
    assert await delivery.send_figures() == [territory.shop.id]


def test_the_bot_does_not_load_matplotlib_until_it_draws() -> None:
    script = (
        "import sys\n"
        "import chatshop.app, chatshop.cli, chatshop.conversation.router\n"
        "import chatshop.delivery.runtime, chatshop.channels.telegram.bot\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib loaded at start'\n"
        "from datetime import date\n"
        "from chatshop.charts.week_chart import draw\n"
        "from chatshop.services.figures import Figures, Week\n"
        "draw(Figures(scope=None, weeks=(Week(monday=date(2026, 11, 16)),), top=()))\n"
        "assert 'matplotlib' in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
