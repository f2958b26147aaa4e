"""Erasing one's data (« /effacer »): no table keeps the person's name or number, the shops keep
their history, anonymous; a shopkeeper who erases their data leaves the team and the operators
are told when a shop has nobody left.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest

from chatshop.domain.models import (
    ReservationStatus,
    Role,
    SubscriptionScope,
)
from tests.conftest import OPERATOR
from tests.world import ALBERTINE, LEA, Meta, World, meta_on


@pytest.fixture
async def meta(world: World) -> AsyncIterator[Meta]:
    async with meta_on(world) as meta:
        yield meta


def find_anywhere(path: Path, needles: list[str]) -> list[str]:
    """Every table, column and row where one of ``needles`` is written."""
    found = []
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            columns = [c[0] for c in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) \
                        else str(value)
                    found += [f"{table}.{column} holds {needle!r}: {text[:120]!r}"
                              for needle in needles if needle in text]
    return found


async def test_erasing_ones_data_forgets_the_person_and_keeps_the_shops_history(
        world: World, meta: Meta) -> None:
    """After « /effacer », no table holds her name or number (a WhatsApp id is the phone
    number); her live reservations are cancelled (stock back, the shop told without her
    name); every reservation stays, anonymous, with its ledger. Kept on purpose: her
    user row (id and dates only, for the reservations), and for 7 days the ids of her
    WhatsApp messages (needed to recognise Meta's retries; a wamid encodes the number in
    base64, which this scan does not decode)."""
    s, cast = world.services, world.cast
    owner_a = cast.actors["owner_a"]
    lea = await s.customers.seen("whatsapp", LEA, "Léa")
    await s.shops.accept_invite(lea.id, (await s.shops.invite(owner_a, cast.shop_a.id,
                                                              Role.STAFF)).code)
    await meta.says(LEA, "Léa", "/menu")  # Léa wrote today: inside her 24-hour window
    name = "Albertine Marcoux"
    # A reservation collected (the shop's history), one she cancelled herself, one live
    # (a hosted product: its maker is told too); a basket, a subscription, a phone.
    await meta.says(ALBERTINE, name, f"/start p_{cast.soap.id}")
    await meta.taps(ALBERTINE, name, "✅")
    await meta.settle()
    await meta.taps(LEA, "Léa", "✅")  # « ready », from Léa's notification
    await meta.settle()
    albertine = (await s.customers.session("whatsapp", ALBERTINE)).user  # type: ignore[union-attr]
    (collected,) = await s.reservations.of_customer(albertine.id)
    await s.reservations.mark_collected(owner_a, collected.id)
    await meta.says(ALBERTINE, name, f"/start p_{cast.honey.id}")
    await meta.taps(ALBERTINE, name, "✅")
    await meta.says(ALBERTINE, name, "/reservations")
    await meta.taps(ALBERTINE, name, "✖️")
    await meta.taps(ALBERTINE, name, "Oui")  # Léa is told « Albertine Marcoux cancelled… »
    await meta.says(ALBERTINE, name, f"/start p_{cast.pottery.id}")
    await meta.taps(ALBERTINE, name, "✅")
    await s.customers.set_phone(albertine.id, "06 12 34 56 78")
    await s.baskets.add(albertine.id, cast.honey.id, 2)
    await s.digest.subscribe(albertine.id, SubscriptionScope.TERRITORY)
    await meta.settle()
    needles = ["Albertine", "Marcoux", "612345678"]  # the phone, in any of its spellings
    before = find_anywhere(world.path, needles)  # the scan does find her, in every spelling
    assert [n for n in needles if not any(f"holds {n!r}" in line for line in before)] == []
    history = {r.id: r.status for r in await s.reservations.for_shop(
        owner_a, cast.shop_a.id, tuple(ReservationStatus))}
    ledger = world.snapshot()["stock_movements"]

    await meta.says(ALBERTINE, name, "/effacer")
    await meta.taps(ALBERTINE, name, "Oui")
    assert meta.texts(ALBERTINE)[-1] == "Vos données ont été effacées. Au revoir, et merci\u00a0!"
    await meta.settle()

    left = find_anywhere(world.path, needles)
    assert left == [], "\n".join(left)
    forgotten = await s.customers.get(albertine.id)
    assert forgotten is not None  # the shops' reservations still point to someone
    assert (forgotten.display_name, forgotten.phone) == ("", None)
    assert await s.baskets.baskets(albertine.id) == []
    assert await s.digest.subscription(albertine.id) is None
    # The shop keeps every reservation, anonymous; the live one was cancelled (the
    # shop is told, without her name) and its stock is back on the shelf.
    after = {r.id: r.status for r in await s.reservations.for_shop(
        owner_a, cast.shop_a.id, tuple(ReservationStatus))}
    live = [rid for rid, status in history.items() if status.is_live
            and rid != cast.reservation.id]
    assert len(live) == 1
    assert after == {**history, live[0]: ReservationStatus.CANCELLED_BY_CUSTOMER}
    assert world.snapshot()["stock_movements"] == ledger
    assert (await s.catalogue.product(cast.pottery.id)).reserved == 0
    assert (await s.catalogue.product(cast.soap.id)).on_hand == 3  # collected: sold
    assert "par le client" in meta.texts(LEA)[-1]
    figures = await s.shops.figures(cast.actors["operator"], world.clock())
    assert (figures.reservations_week, figures.collected_week) == (4, 1)
    # She comes back: a stranger to the bot.
    await meta.says(ALBERTINE, "Albertine", "/reservations")
    assert meta.texts(ALBERTINE)[-1].startswith("Bienvenue")  # welcomed again, then:
    assert meta.texts(ALBERTINE)[-1].endswith("Vous n’avez pas encore de réservation.")


async def test_a_shopkeeper_who_erases_their_data_leaves_the_team_and_the_operator_is_told(
        world: World) -> None:
    """Paul runs the bakery alone: after « /effacer » the shop's news has nobody to go to
    (not an address that no longer exists) and the operators are asked to invite
    someone; Léa's shop, with two more staff, just loses her."""
    s, cast = world.services, world.cast
    paul = world.chat("owner_b")
    await paul.send("/effacer")
    assert "Boulangerie Martin" in paul.text  # warned that he leaves its team
    await paul.press("Oui")
    assert await s.shops.people_to_notify(cast.shop_b.id) == []
    (told,) = paul.postbox.inbox[OPERATOR[1]]
    assert "Paul" in told.text
    assert "Boulangerie Martin" in told.text
    assert "/territoire" in told.text  # nobody runs it any more: invite someone
    lea = world.chat("owner_a")
    await lea.send("/effacer")
    await lea.press("Oui")
    assert {u.display_name for u in await s.shops.people_to_notify(cast.shop_a.id)} == {
        "Tom", "Zoé"}
    (told,) = lea.postbox.inbox[OPERATOR[1]]
    assert "Épicerie du Château" in told.text
    assert "/territoire" not in told.text
    # Back in the chat, he is a customer like any other.
    await paul.send("/boutique")
    assert "Boulangerie Martin" not in paul.text
