"""Shops, staff, invites and hosting agreements, with their permission checks."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from chatshop.domain.models import HostingStatus, OpeningInterval, Role, ShopDetails
from chatshop.errors import Conflict, InvalidInput, InviteUnusable, NotAllowed, NotFound
from tests.conftest import FakeClock, Territory

PARIS = ZoneInfo("Europe/Paris")


async def test_the_operator_creates_a_shop_with_a_readable_unique_slug(
        territory: Territory) -> None:
    shops = territory.services.shops
    first = await shops.create_shop(territory.operator, "Épicerie « Chez Léa »",
                                    territory.commune.id)
    second = await shops.create_shop(territory.operator, "Epicerie Chez Lea",
                                     territory.commune.id)
    assert first.slug == "epicerie-chez-lea"
    assert second.slug == "epicerie-chez-lea-2"
    assert (await shops.by_slug("epicerie-chez-lea")).id == first.id
    assert first.hold_hours == 48
    assert first.active
    assert not first.on_holiday


async def test_a_shopkeeper_cannot_create_shops_or_communes(territory: Territory) -> None:
    with pytest.raises(NotAllowed):
        await territory.services.shops.create_shop(territory.owner, "Pirate",
                                                   territory.commune.id)
    with pytest.raises(NotAllowed):
        await territory.services.shops.add_commune(territory.owner, "Saint-Junien")
    assert (await territory.services.shops.browse()).total == 1


async def test_a_shop_in_an_unknown_commune_is_refused(territory: Territory) -> None:
    with pytest.raises(NotFound):
        await territory.services.shops.create_shop(territory.operator, "Nulle part", 999)


async def test_staff_edit_their_card_but_never_another_shop(territory: Territory) -> None:
    shops = territory.services.shops
    other, other_owner = await territory.open_shop("Salon Coiffure Anne", "2100")
    updated = await shops.update_shop(territory.owner, territory.shop.id, ShopDetails(
        address="  3 place   du Château ", phone="05 55 03 00 00",
        pickup_instructions="Sonnez à la porte de côté.", hold_hours=72))
    assert updated.address == "3 place du Château"
    assert updated.phone == "+33555030000"
    assert updated.hold_hours == 72
    with pytest.raises(NotAllowed):
        await shops.update_shop(other_owner, territory.shop.id, ShopDetails(phone=""))
    assert (await shops.get(territory.shop.id)).phone == "+33555030000"
    with pytest.raises(NotAllowed):  # only the operator (de)activates a shop
        await shops.update_shop(territory.owner, territory.shop.id, ShopDetails(active=False))
    assert other.active


async def test_bad_shop_details_change_nothing(territory: Territory) -> None:
    shops = territory.services.shops
    with pytest.raises(InvalidInput):
        await shops.update_shop(territory.owner, territory.shop.id,
                                ShopDetails(name="x" * 5000))
    with pytest.raises(InvalidInput):
        await shops.update_shop(territory.owner, territory.shop.id,
                                ShopDetails(phone="appelez-moi"))
    assert (await shops.get(territory.shop.id)).name == "Épicerie du Château"


async def test_opening_hours_with_a_lunch_break_say_when_the_shop_is_open(
        territory: Territory) -> None:
    thursday = 3
    shop = await territory.services.shops.set_hours(territory.owner, territory.shop.id, [
        OpeningInterval(weekday=thursday, opens=time(14), closes=time(19)),
        OpeningInterval(weekday=thursday, opens=time(9), closes=time(12, 30)),
    ])
    assert [i.opens for i in shop.hours] == [time(9), time(14)]
    # 2026-11-26 is a Thursday; Paris is UTC+1 in November.
    assert shop.is_open_at(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), PARIS)      # 10:00
    assert not shop.is_open_at(datetime(2026, 11, 26, 12, 0, tzinfo=UTC), PARIS)  # 13:00
    assert shop.is_open_at(datetime(2026, 11, 26, 17, 59, tzinfo=UTC), PARIS)    # 18:59
    assert not shop.is_open_at(datetime(2026, 11, 27, 9, 0, tzinfo=UTC), PARIS)  # Friday
    closed = await territory.services.shops.set_holiday(
        territory.owner, territory.shop.id, True, "Retour le 2 janvier.")
    assert not closed.is_open_at(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), PARIS)
    assert closed.holiday_message == "Retour le 2 janvier."


async def test_overlapping_opening_hours_are_refused(territory: Territory) -> None:
    with pytest.raises(InvalidInput):
        await territory.services.shops.set_hours(territory.owner, territory.shop.id, [
            OpeningInterval(weekday=0, opens=time(9), closes=time(13)),
            OpeningInterval(weekday=0, opens=time(12), closes=time(18)),
        ])
    assert (await territory.services.shops.get(territory.shop.id)).hours == ()


async def test_an_owner_invites_staff_with_a_single_use_code(territory: Territory) -> None:
    shops = territory.services.shops
    invite = await shops.invite(territory.owner, territory.shop.id, Role.STAFF)
    assert len(invite.code) == 10
    apprentice = await territory.person("2001", "Tom")
    member = await shops.accept_invite(apprentice.id, invite.code.lower())
    assert (member.shop_id, member.role) == (territory.shop.id, Role.STAFF)
    stranger = await territory.person("2002")
    with pytest.raises(InviteUnusable) as refused:
        await shops.accept_invite(stranger.id, invite.code)
    assert refused.value.why == "used"
    assert [m.shop_id for m in await shops.memberships(stranger.id)] == []


async def test_staff_cannot_invite_and_nobody_but_the_operator_invites_owners(
        territory: Territory) -> None:
    shops = territory.services.shops
    invite = await shops.invite(territory.owner, territory.shop.id, Role.STAFF)
    apprentice = await territory.person("2001")
    await shops.accept_invite(apprentice.id, invite.code)
    staff = territory.services.customers.actor(apprentice)
    with pytest.raises(NotAllowed):
        await shops.invite(staff, territory.shop.id, Role.STAFF)
    with pytest.raises(NotAllowed):
        await shops.invite(territory.owner, territory.shop.id, Role.OWNER)


async def test_an_invite_expires_after_seven_days(territory: Territory,
                                                  clock: FakeClock) -> None:
    invite = await territory.services.shops.invite(territory.owner, territory.shop.id,
                                                   Role.STAFF)
    clock.advance(days=7, seconds=1)
    late = await territory.person("2003")
    with pytest.raises(InviteUnusable) as refused:
        await territory.services.shops.accept_invite(late.id, invite.code)
    assert refused.value.why == "expired"
    assert "expir" in refused.value.message().lower()


async def test_an_unknown_invite_code_is_refused(territory: Territory) -> None:
    with pytest.raises(InviteUnusable):
        await territory.services.shops.accept_invite(territory.customer.id, "NOPE")


async def test_the_last_owner_cannot_be_removed(territory: Territory) -> None:
    with pytest.raises(Conflict):
        await territory.services.shops.remove_staff(
            territory.operator, territory.shop.id, territory.owner.user_id)
    staff = await territory.services.shops.staff(territory.owner, territory.shop.id)
    assert [m.role for m in staff] == [Role.OWNER]


async def test_hosting_is_asked_by_the_maker_and_accepted_by_the_host(
        territory: Territory) -> None:
    shops = territory.services.shops
    maker, artisan = await territory.open_shop("Poteries de Marie", "2200")
    asked = await shops.ask_hosting(artisan, maker.id, territory.shop.id)
    assert asked.status is HostingStatus.PROPOSED
    with pytest.raises(NotAllowed):  # the maker cannot accept on the host's behalf
        await shops.accept_hosting(artisan, territory.shop.id, maker.id)
    with pytest.raises(Conflict):
        await shops.ask_hosting(artisan, maker.id, territory.shop.id)
    accepted = await shops.accept_hosting(territory.owner, territory.shop.id, maker.id)
    assert accepted.status is HostingStatus.ACCEPTED
    assert [h.maker_shop_id for h in await shops.hostings(territory.owner,
                                                          territory.shop.id)] == [maker.id]
    with pytest.raises(InvalidInput):
        await shops.ask_hosting(artisan, maker.id, maker.id)


async def test_an_owner_removes_staff_and_a_second_owner_can_leave(territory: Territory) -> None:
    shops = territory.services.shops
    invite = await shops.invite(territory.owner, territory.shop.id, Role.STAFF)
    apprentice = await territory.person("2001")
    await shops.accept_invite(apprentice.id, invite.code)
    await shops.remove_staff(territory.owner, territory.shop.id, apprentice.id)
    with pytest.raises(NotFound):
        await shops.remove_staff(territory.owner, territory.shop.id, apprentice.id)
    second = await shops.invite(territory.operator, territory.shop.id, Role.OWNER)
    partner = await territory.person("2002")
    await shops.accept_invite(partner.id, second.code)
    await shops.remove_staff(territory.operator, territory.shop.id, partner.id)
    members = await shops.staff(territory.owner, territory.shop.id)
    assert [(m.user_id, m.role) for m in members] == [(territory.owner.user_id, Role.OWNER)]
