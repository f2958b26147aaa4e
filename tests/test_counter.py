"""At the counter and on the phone (#12 §1): Léa takes a reservation by phone for
Mme Dupont, records a sale at the counter, and the person's data stays with the shop."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatshop.conversation.router import Conversation
from chatshop.conversation.routes import (
    PERSON,
    PERSON_ERASE,
    PHONE_ASK,
    READY,
    SELL_ASK,
    SHOP_RESERVATIONS,
)
from chatshop.domain.models import (
    Product,
    Reservation,
    ReservationSource,
    ReservationStatus,
    Role,
    StockReason,
)
from chatshop.domain.phone_order import parse_phone_order
from chatshop.errors import InvalidInput
from chatshop.storage import Store
from tests.chat import Chat, Postbox
from tests.conftest import FakeClock, Territory
from tests.test_i18n import plain
from tests.world import runtime_of


@pytest.fixture
def lea(conversation: Conversation, postbox: Postbox, territory: Territory) -> Chat:
    """Léa, owner of the Épicerie du Château."""
    return Chat(conversation, "2000", "Léa", postbox)


@pytest.fixture
def jeanne(conversation: Conversation, postbox: Postbox, territory: Territory) -> Chat:
    """Jeanne, a customer."""
    return Chat(conversation, "3000", "Jeanne", postbox)


@pytest.fixture
async def soap(territory: Territory) -> Product:
    return await territory.product("Savon lavande", 650, on_hand=5)


async def shop_reservations(territory: Territory) -> list[Reservation]:
    return await territory.services.reservations.for_shop(territory.owner, territory.shop.id)


async def now_of(territory: Territory, product: Product) -> Product:
    return await territory.services.catalogue.product(product.id)


async def hire(territory: Territory, external_id: str, name: str) -> None:
    invite = await territory.services.shops.invite(territory.operator, territory.shop.id,
                                                   Role.STAFF)
    person = await territory.person(external_id, name)
    await territory.services.shops.accept_invite(person.id, invite.code)


# -- reading « /reserver … » ---------------------------------------------------------------


@pytest.mark.parametrize(("typed", "words", "quantity", "name", "phone"), [
    ("savon lavande x2 pour Mme Dupont 06 12 34 56 78", "savon lavande", 2, "Mme Dupont",
     "+33612345678"),
    ("2 miel", "miel", 1 + 1, "", ""),
    ("miel pour M. Martin", "miel", 1, "M. Martin", ""),
    ("miel 3x 06.12.34.56.78", "miel", 3, "", "+33612345678"),
    ("miel ×4 pour Jo 0612345678", "miel", 4, "Jo", "+33612345678"),
    ("miel pour Mme Roux +33 6 12 34 56 78", "miel", 1, "Mme Roux", "+33612345678"),
    ("savon 100g x2", "savon 100g", 2, "", ""),
    ("savon x 2 pour Xavier", "savon", 2, "Xavier", ""),
])
def test_a_phone_order_is_read_in_the_ways_people_type_it(
        typed: str, words: str, quantity: int, name: str, phone: str) -> None:
    order = parse_phone_order(typed)
    assert (order.words, order.quantity, order.contact.name, order.contact.phone) == (
        words, quantity, name, phone)


@pytest.mark.parametrize("typed", ["", "x2", "miel x0", "miel x-3", "miel x1e9",
                                   "miel pour Mme Dupont 12", "miel x2 3",
                                   "miel pour " + "A" * 5000])
def test_a_phone_order_that_cannot_be_read_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_phone_order(typed)


@given(st.text(max_size=200))
def test_any_typed_line_is_read_or_refused_in_french(typed: str) -> None:
    try:
        order = parse_phone_order(typed)
    except InvalidInput:
        return  # refused with its French reason; nothing else may escape
    assert 1 <= order.quantity <= 999
    assert order.words.strip()
    assert len(order.contact.name) <= 80
    assert len(order.contact.phone) <= 20


# -- a reservation by phone --------------------------------------------------------------


async def test_a_typed_phone_reservation_is_confirmed_then_held_like_any_other(
        territory: Territory, lea: Chat, soap: Product, postbox: Postbox) -> None:
    await lea.send("/reserver savon lavande x2 pour Mme Dupont 06 12 34 56 78")
    text = plain(lea.text)
    assert "Réservation par téléphone" in text
    assert "2 × Savon lavande — 13,00 €" in text
    assert "📞 Mme Dupont · 06 12 34 56 78" in text
    assert "À retirer chez Épicerie du Château avant le" in text
    assert {"✅ Confirmer", "Annuler", "🏠 Menu"} <= set(lea.labels)
    assert not await shop_reservations(territory)  # nothing before « Confirmer »

    shown = lea.last
    await lea.press("Confirmer")
    (made,) = await shop_reservations(territory)
    assert made.source is ReservationSource.PHONE
    assert made.user_id == territory.owner.user_id
    assert made.contact is not None
    assert made.contact.name == "Mme Dupont"
    assert made.contact.phone == "+33612345678"
    assert made.status is ReservationStatus.PENDING
    assert f"Réservation {made.code} enregistrée" in lea.text
    assert "Rien n’est envoyé au client" in lea.text
    after = await now_of(territory, soap)
    assert (after.on_hand, after.reserved) == (5, 2)
    assert not postbox.inbox  # nobody told: Léa took it herself

    lea.last = shown
    await lea.press("Confirmer")  # a double tap reserves once
    assert len(await shop_reservations(territory)) == 1


async def test_the_product_screen_takes_a_phone_reservation_in_three_taps(
        territory: Territory, lea: Chat, soap: Product) -> None:
    await lea.forge(f"pp:{soap.id}")
    await lea.press("Par téléphone")
    assert {"1", "2", "3"} <= set(lea.labels)
    await lea.press("3")
    assert "Pour qui ?" in plain(lea.text)
    await lea.send("Mme Dupont 06 12 34 56 78")
    assert "📞 Mme Dupont · 06 12 34 56 78" in plain(lea.text)
    await lea.press("Confirmer")
    (made,) = await shop_reservations(territory)
    assert made.lines[0].quantity == 3
    assert made.contact is not None

    await lea.forge(f"pp:{soap.id}")
    await lea.press("Par téléphone")
    await lea.send("1")  # typed
    await lea.press("Passer")
    assert "aucun nom donné" in lea.text
    await lea.press("Confirmer")
    second = [r for r in await shop_reservations(territory) if r.id != made.id]
    assert second[0].contact is None
    assert second[0].lines[0].quantity == 1


async def test_an_ambiguous_name_offers_the_products_as_buttons(
        territory: Territory, lea: Chat) -> None:
    await territory.product("Savon lavande", 650, on_hand=5)
    rose = await territory.product("Savon rose", 700, on_hand=5)
    await lea.send("/reserver savon x2 pour M. Martin")
    assert "Plusieurs produits" in lea.text
    await lea.press("Savon rose")
    assert "2 × Savon rose" in plain(lea.text)
    assert "M. Martin" in lea.text
    await lea.press("Confirmer")
    (made,) = await shop_reservations(territory)
    assert made.lines[0].product_id == rose.id


@pytest.mark.parametrize(("typed", "said"), [
    ("/reserver", "Tapez-le ainsi : /reserver"),
    ("/reserver caviar", "Aucun de vos produits ne s’appelle"),
    ("/reserver savon x0", "entre 1 et 999"),
    ("/reserver savon x-3", "« x-3 » n’est pas lisible"),
    ("/reserver savon x1e9", "« x1e9 » n’est pas lisible"),
    ("/reserver savon pour Mme Dupont 12", "numéro de téléphone français"),
    ("/reserver savon pour " + "Dupont " * 800, "Le nom est trop long"),
])
async def test_a_phone_reservation_typed_wrong_is_refused_in_french(
        territory: Territory, lea: Chat, soap: Product, typed: str, said: str) -> None:
    await lea.send(typed)
    assert said in plain(lea.text)
    assert "🏠 Menu" in lea.labels
    assert not await shop_reservations(territory)
    assert (await now_of(territory, soap)).reserved == 0


async def test_more_than_available_is_refused_at_confirmation(
        territory: Territory, lea: Chat, soap: Product) -> None:
    await lea.send("/reserver savon lavande x9")
    assert "Il n’en reste que 5" in plain(lea.text)
    await lea.press("Confirmer")
    assert not await shop_reservations(territory)
    assert (await now_of(territory, soap)).reserved == 0


async def test_a_customer_cannot_reserve_or_sell_for_the_shop(
        territory: Territory, jeanne: Chat, soap: Product) -> None:
    for typed in ("/reserver savon lavande x2 pour Moi", "/vendu savon lavande 2"):
        await jeanne.send(typed)
        assert "Désolé" in jeanne.text
    for payload in (PHONE_ASK.payload(product=soap.id), SELL_ASK.payload(product=soap.id),
                    f"tw:{soap.id}:2:0", f"tq:{soap.id}:2"):
        await jeanne.forge(payload)
        assert "Désolé" in jeanne.text
    after = await now_of(territory, soap)
    assert (after.on_hand, after.reserved) == (5, 0)
    assert not await shop_reservations(territory)


# -- in the staff's list, and never to a customer -------------------------------------------


async def phone_reservation(lea: Chat, typed: str = "/reserver savon lavande x2 pour "
                            "Mme Dupont 06 12 34 56 78") -> None:
    await lea.send(typed)
    await lea.press("Confirmer")


async def test_the_staff_see_the_phone_reservation_with_its_person(
        territory: Territory, lea: Chat, soap: Product, postbox: Postbox) -> None:
    await hire(territory, "2001", "Paul")
    await phone_reservation(lea)
    (made,) = await shop_reservations(territory)
    (news,) = postbox.inbox["2001"]  # the other staff hear of it, as of any
    assert "Nouvelle réservation" in news.text
    assert "📞 Mme Dupont · 06 12 34 56 78" in plain(news.text)
    assert "Prise par téléphone par Léa" in news.text
    assert "2000" not in postbox.inbox

    await lea.press("Voir la réservation")
    assert "📞 Mme Dupont · 06 12 34 56 78" in plain(lea.text)
    assert {"✅ Prête", "👤 Données du client"} <= set(lea.labels)
    await lea.press("Prête")
    assert (await territory.services.reservations.get(made.id)).status \
        is ReservationStatus.READY  # type: ignore[union-attr]
    assert plain(lea.text) == (f"La réservation {made.code} est prête. Elle a été prise par "
                               "téléphone : personne n’a été prévenu. Pour rappeler "
                               "Mme Dupont : 06 12 34 56 78.")
    await lea.send("/boutique")
    await lea.press("Réservations")
    assert any(label.startswith(f"✅ {made.code} · 📞 Mme Dupont") for label in lea.labels)
    await lea.forge(f"rv:{made.id}")
    await lea.press("Retirée")
    done = await territory.services.reservations.get(made.id)
    assert done is not None
    assert done.status is ReservationStatus.COLLECTED
    assert (await now_of(territory, soap)).on_hand == 3
    assert "2000" not in postbox.inbox  # Léa is never told as its « customer »


async def test_nobody_is_told_as_a_customer_when_a_phone_reservation_is_cancelled(
        territory: Territory, lea: Chat, soap: Product, postbox: Postbox) -> None:
    await phone_reservation(lea)
    await lea.press("Voir la réservation")
    await lea.press("Annuler")
    assert "personne n’est prévenu" in lea.text
    await lea.send("Mme Dupont a rappelé")
    assert "personne n’a été prévenu" in lea.text
    (made,) = await territory.services.reservations.for_shop(
        territory.owner, territory.shop.id, (ReservationStatus.CANCELLED_BY_SHOP,))
    assert made.cancel_reason == "Mme Dupont a rappelé"
    assert not postbox.inbox
    assert (await now_of(territory, soap)).reserved == 0


async def test_a_phone_reservation_expires_silently(
        territory: Territory, lea: Chat, soap: Product, clock: FakeClock,
        conversation: Conversation) -> None:
    await phone_reservation(lea)
    (made,) = await shop_reservations(territory)
    assert await conversation.reminder(made) == []
    clock.now = made.deadline_at
    (expired,) = await territory.services.reservations.expire_overdue()
    assert expired.status is ReservationStatus.EXPIRED
    assert await conversation.expiry_news(expired) == []
    assert (await now_of(territory, soap)).reserved == 0


async def test_the_staff_members_own_reservations_do_not_list_phone_ones(
        territory: Territory, lea: Chat, soap: Product) -> None:
    await phone_reservation(lea)
    await lea.send("/mesreservations")
    (made,) = await shop_reservations(territory)
    assert made.code not in lea.text
    assert await territory.services.reservations.of_customer(territory.owner.user_id) == []
    await lea.forge(f"rx:{made.id}")  # the customer's « cancel », forged
    assert (await territory.services.reservations.get(made.id)).status \
        is ReservationStatus.PENDING  # type: ignore[union-attr]


# -- the person's data -------------------------------------------------------------------


async def test_the_person_of_a_phone_reservation_is_exported_then_erased(
        territory: Territory, lea: Chat, soap: Product) -> None:
    await phone_reservation(lea)
    (made,) = await shop_reservations(territory)
    await lea.press("Voir la réservation")
    await lea.press("Données du client")
    assert "📞 Mme Dupont · 06 12 34 56 78" in plain(lea.text)
    assert {"📤 Exporter", "🗑 Effacer"} <= set(lea.labels)
    await lea.press("Exporter")
    text = plain(lea.text)
    assert "Nom : Mme Dupont" in text
    assert "Téléphone : 06 12 34 56 78" in text
    assert f"Réservation {made.code}" in text
    assert "2 × Savon lavande" in text

    await lea.forge(PERSON.payload(reservation=made.id))
    await lea.press("Effacer")
    assert "La réservation elle-même reste" in plain(lea.text)
    assert (await territory.services.reservations.get(made.id)).contact is not None  # type: ignore[union-attr]
    await lea.press("Oui, effacer")
    kept = await territory.services.reservations.get(made.id)
    assert kept is not None
    assert kept.contact is None
    assert kept.status is ReservationStatus.PENDING  # the reservation stays


async def test_only_the_pickup_shops_staff_see_the_person(
        territory: Territory, lea: Chat, soap: Product, conversation: Conversation,
        postbox: Postbox, jeanne: Chat) -> None:
    await phone_reservation(lea)
    (made,) = await shop_reservations(territory)
    await territory.open_shop("Boulangerie", "4000")
    other = Chat(conversation, "4000", "Marc", postbox)
    for chat in (other, jeanne):
        for payload in (PERSON.payload(reservation=made.id), f"te:{made.id}",
                        f"tx:{made.id}", PERSON_ERASE.payload(reservation=made.id)):
            await chat.forge(payload)
            assert "Dupont" not in chat.text
            assert "06" not in chat.text
            assert "🏠 Menu" in chat.labels
    kept = await territory.services.reservations.get(made.id)
    assert kept is not None
    assert kept.contact is not None


async def test_the_person_is_dropped_30_days_after_the_reservation_closed(
        territory: Territory, lea: Chat, soap: Product, clock: FakeClock,
        store: Store) -> None:
    await phone_reservation(lea)
    await phone_reservation(lea, "/reserver savon lavande pour M. Martin")
    first, second = sorted(await shop_reservations(territory), key=lambda r: r.id)
    await territory.services.reservations.mark_collected(territory.owner, first.id)
    clock.advance(days=29)
    assert await territory.services.counter.drop_old_contacts() == 0
    clock.advance(days=1, seconds=1)
    assert await territory.services.counter.drop_old_contacts() == 1
    gone = await territory.services.reservations.get(first.id)
    kept = await territory.services.reservations.get(second.id)
    assert gone is not None
    assert gone.contact is None
    assert gone.status is ReservationStatus.COLLECTED  # the reservation stays
    assert kept is not None
    assert kept.contact is not None


async def test_a_staff_members_erase_keeps_the_phone_reservations_they_took(
        territory: Territory, lea: Chat, soap: Product) -> None:
    await phone_reservation(lea)
    (made,) = await shop_reservations(territory)
    exported = json.loads(await territory.services.customers.export(territory.owner.user_id))
    assert exported["reservations"] == []
    assert "Dupont" not in json.dumps(exported)
    await territory.services.customers.erase(territory.owner.user_id)
    kept = await territory.services.reservations.get(made.id)
    assert kept is not None
    assert kept.status is ReservationStatus.PENDING


# -- a sale at the counter ---------------------------------------------------------------


async def test_a_counter_sale_takes_units_off_the_shelf_with_its_own_reason(
        territory: Territory, lea: Chat, soap: Product) -> None:
    await lea.send("/vendu savon lavande 2")
    assert "2 vendus en boutique" in plain(lea.text)
    after = await now_of(territory, soap)
    assert (after.on_hand, after.reserved) == (3, 0)
    history = await territory.services.catalogue.stock_history(territory.owner, soap.id)
    assert history[-1].reason is StockReason.SOLD
    assert history[-1].delta == -2

    await lea.forge(f"pp:{soap.id}")
    await lea.press("Vendu en boutique")
    await lea.press("1")
    await lea.forge(f"pp:{soap.id}")
    await lea.press("Vendu en boutique")
    await lea.send("1")  # typed
    assert (await now_of(territory, soap)).on_hand == 1
    await lea.send("/vendu savon lavande")  # 1 by default: sold out
    assert (await now_of(territory, soap)).on_hand == 0
    assert "épuisé" in plain(lea.text).casefold() or "0 disponible" in plain(lea.text)


async def test_a_sale_button_pressed_twice_sells_once(
        territory: Territory, lea: Chat, soap: Product) -> None:
    await lea.forge(f"pp:{soap.id}")
    await lea.press("Vendu en boutique")
    shown = lea.last
    await lea.press("2")
    lea.last = shown
    await lea.press("2")
    assert (await now_of(territory, soap)).on_hand == 3


async def test_a_sale_is_refused_below_what_is_reserved(
        territory: Territory, lea: Chat, jeanne: Chat) -> None:
    soap = await territory.product("Savon lavande", 650, on_hand=3)
    await territory.services.reservations.reserve_now(territory.customer.id, soap.id, 2,
                                                      "k1")
    await lea.send("/vendu savon lavande 2")
    assert ("Il reste 3 « Savon lavande », dont 2 réservés : vous pouvez en vendre 1 au "
            "plus.") in plain(lea.text)
    assert (await now_of(territory, soap)).on_hand == 3
    await lea.send("/vendu savon lavande 1")
    assert (await now_of(territory, soap)).on_hand == 2
    await lea.send("/vendu savon lavande 1")
    assert "vous ne pouvez en vendre aucun" in plain(lea.text)
    history = await territory.services.catalogue.stock_history(territory.owner, soap.id)
    assert [m.reason for m in history].count(StockReason.SOLD) == 1


@pytest.mark.parametrize("typed", ["/vendu", "/vendu savon lavande x0",
                                   "/vendu savon lavande -3", "/vendu savon lavande 1e9",
                                   "/vendu caviar 2"])
async def test_a_sale_typed_wrong_changes_nothing(
        territory: Territory, lea: Chat, soap: Product, typed: str) -> None:
    await lea.send(typed)
    assert "🏠 Menu" in lea.labels
    assert (await now_of(territory, soap)).on_hand == 5


# -- the staff's product screen ------------------------------------------------------------


async def test_the_product_screen_has_room_for_the_phone_and_the_counter(
        territory: Territory, lea: Chat, soap: Product) -> None:
    await lea.forge(f"pp:{soap.id}")
    assert {"📞 Par téléphone", "🧾 Vendu en boutique", "Plus…"} <= set(lea.labels)
    assert len(lea.labels) <= 8
    assert "⬅️ Retour" in lea.labels
    await lea.press("Plus…")
    assert {"💶 Prix…", "🙈 Masquer"} <= set(lea.labels)


async def test_the_product_screen_says_how_many_wait_for_it(
        territory: Territory, lea: Chat, jeanne: Chat) -> None:
    gone = await territory.product("Savon lavande", 650, on_hand=0)
    await territory.services.alerts.ask(territory.customer.id, gone.id)
    await lea.forge(f"pp:{gone.id}")
    assert "1 personne attend ce produit" in plain(lea.text)


async def test_the_daily_clean_up_drops_the_person_of_a_long_closed_reservation(
        territory: Territory, lea: Chat, soap: Product, clock: FakeClock,
        conversation: Conversation) -> None:
    await phone_reservation(lea)
    (made,) = await shop_reservations(territory)
    await territory.services.reservations.mark_collected(territory.owner, made.id)
    clock.advance(days=31)
    await runtime_of(territory.services, conversation).clean_up()
    gone = await territory.services.reservations.get(made.id)
    assert gone is not None
    assert gone.contact is None


async def test_the_territorys_operator_does_not_see_the_person_either(
        territory: Territory, lea: Chat, soap: Product, conversation: Conversation,
        postbox: Postbox) -> None:
    await phone_reservation(lea)
    (made,) = await shop_reservations(territory)
    office = Chat(conversation, "1000", "Office de tourisme", postbox)
    await office.forge(f"rv:{made.id}")
    assert made.code in office.text  # the reservation, as the operator may handle it
    assert "Dupont" not in office.text
    assert "👤 Données du client" not in office.labels
    await office.forge(PERSON.payload(reservation=made.id))
    assert "Dupont" not in office.text
    assert "Désolé" in office.text


async def test_the_operator_sees_no_phone_persons_name_in_the_lists_or_answers(
        territory: Territory, lea: Chat, soap: Product, conversation: Conversation,
        postbox: Postbox) -> None:
    await phone_reservation(lea)
    (made,) = await shop_reservations(territory)
    office = Chat(conversation, "1000", "Office de tourisme", postbox)
    await office.forge(SHOP_RESERVATIONS.payload(shop=territory.shop.id))
    assert any(made.code in label for label in office.labels)
    assert "Dupont" not in " ".join(office.labels)
    await office.forge(READY.payload(reservation=made.id))
    assert "prête" in office.text
    assert "Dupont" not in office.text
    assert "06" not in office.text


async def test_erasing_the_person_drops_the_teams_messages_that_name_them(
        territory: Territory, lea: Chat, soap: Product, store: Store) -> None:
    await phone_reservation(lea)
    (made,) = await shop_reservations(territory)
    await territory.services.delivery.queue(
        [("telegram", "2001", '{"text": "🆕 Nouvelle réservation · 📞 Mme Dupont"}', made.id)])
    kept = "SELECT count(*) FROM outbox WHERE regarding = ?"
    assert (await store.db.lookup(kept, (made.id,)))[0][0] == 1  # type: ignore[attr-defined]
    await lea.forge(PERSON_ERASE.payload(reservation=made.id))  # « Oui, effacer »
    assert (await store.db.lookup(kept, (made.id,)))[0][0] == 0  # type: ignore[attr-defined]
    assert (await territory.services.reservations.get(made.id)).contact is None  # type: ignore[union-attr]
