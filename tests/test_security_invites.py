"""Invitation codes: one use, a validity, the shop and role they name and never more, many
people at once letting one in; forged or unknown codes grant nothing.

Related: ``tests/test_shops.py`` (invites: single use, expiry, staff cannot invite).
"""

from __future__ import annotations

import asyncio

import pytest

from chatshop.domain.models import (
    Role,
)
from chatshop.errors import InviteUnusable, NotAllowed
from chatshop.services.shops import INVITE_VALIDITY
from tests.world import THEIR_OWN, World


async def _invite(world: World, role: Role = Role.STAFF) -> str:
    who = world.cast.actors["owner_a" if role is Role.STAFF else "operator"]
    return (await world.services.shops.invite(who, world.cast.shop_a.id, role)).code


async def _roles(world: World, user_id: int) -> dict[int, Role]:
    return {m.shop_id: m.role for m in await world.services.shops.memberships(user_id)}


async def test_an_invitation_works_once_and_the_second_person_is_told_in_french(
        world: World) -> None:
    code = await _invite(world)
    first, second = world.chat("newcomer"), world.chat("customer")
    await first.send(f"/invitation {code.lower()}")  # typed as it comes
    assert "Bienvenue" in first.text
    before = world.snapshot(skip=THEIR_OWN)
    await second.send(f"/invitation {code}")
    assert second.last[-1].text == "Cette invitation a déjà été utilisée."
    await first.send(f"/invitation {code}")  # nor twice by the same person
    assert first.text == "Cette invitation a déjà été utilisée."
    assert world.snapshot(skip=THEIR_OWN) == before
    assert await _roles(world, world.cast.customer.id) == {}


async def test_an_invitation_expires_after_its_validity(world: World) -> None:
    early, late = await _invite(world), await _invite(world, Role.OWNER)
    world.clock.advance(seconds=INVITE_VALIDITY.total_seconds() - 1)
    newcomer = world.chat("newcomer")
    await newcomer.send(f"/invitation {early}")
    assert "Bienvenue" in newcomer.text  # still valid a second before
    world.clock.advance(seconds=1)
    customer = world.chat("customer")
    await customer.send("/menu")  # seen a week later: their « last seen » moves
    before = world.snapshot(skip=THEIR_OWN)
    await customer.send(f"/invitation {late}")
    assert customer.text == "Cette invitation a expiré. Merci d’en demander une nouvelle."
    assert world.snapshot(skip=THEIR_OWN) == before


@pytest.mark.parametrize("typed", [
    "AAAAAAAAAA", "' OR 1=1 --", "%", "*", "é" * 10, "x" * 5000, "0" * 64, "\u200b",
    "{code}X", "{code_cut}", "{code_other}",
])
async def test_unknown_or_forged_codes_grant_nothing(world: World, typed: str) -> None:
    code = await _invite(world)
    other = await world.services.shops.invite(world.cast.actors["owner_b"],
                                              world.cast.shop_b.id, Role.STAFF)
    await world.services.shops.accept_invite(world.cast.apprentice.id, other.code)
    customer = world.chat("customer")
    before = world.snapshot(skip=THEIR_OWN)
    await customer.send("/invitation " + typed.format(code=code, code_cut=code[:-1],
                                                      code_other=other.code))
    assert customer.last[-1].text in ("Ce code d’invitation n’est pas valable.",
                             "Cette invitation a déjà été utilisée.")
    assert world.snapshot(skip=THEIR_OWN) == before
    await customer.send("/invitation")
    assert customer.text == "Merci d’écrire le code d’invitation après /invitation."


async def test_a_code_for_shop_a_grants_shop_a_only_and_never_more_than_its_role(
        world: World) -> None:
    services, cast = world.services, world.cast
    newcomer = await services.customers.seen("telegram", "4000", "Inconnu")
    await services.shops.accept_invite(newcomer.id, await _invite(world))
    assert await _roles(world, newcomer.id) == {cast.shop_a.id: Role.STAFF}
    actor = services.customers.actor(newcomer)
    await services.catalogue.set_stock(actor, cast.honey.id, 9)  # A: yes
    with pytest.raises(NotAllowed):  # B: no
        await services.shops.set_announcement(actor, cast.shop_b.id, "Pirate")
    with pytest.raises(NotAllowed):  # staff, not owner
        await services.shops.invite(actor, cast.shop_a.id, Role.STAFF)


async def test_an_existing_member_using_a_code_is_never_demoted_nor_promoted_by_it(
        world: World) -> None:
    services, cast = world.services, world.cast
    owner_a, staff_a = cast.actors["owner_a"], cast.actors["staff_a"]
    await services.shops.accept_invite(owner_a.user_id, await _invite(world))
    await services.shops.accept_invite(staff_a.user_id, await _invite(world))
    assert await _roles(world, owner_a.user_id) == {cast.shop_a.id: Role.OWNER}
    assert await _roles(world, staff_a.user_id) == {cast.shop_a.id: Role.STAFF}
    # B's owner joins A's team with A's code: staff at A, still owner of B.
    owner_b = cast.actors["owner_b"]
    await services.shops.accept_invite(owner_b.user_id, await _invite(world))
    assert await _roles(world, owner_b.user_id) == {cast.shop_a.id: Role.STAFF,
                                                    cast.shop_b.id: Role.OWNER}


async def test_a_code_used_by_many_people_at_once_lets_one_in(world: World) -> None:
    code = await _invite(world)
    people = [await world.services.customers.seen("telegram", str(5000 + n), f"P{n}")
              for n in range(12)]
    results = await asyncio.gather(
        *(world.services.shops.accept_invite(p.id, code) for p in people),
        return_exceptions=True)
    joined = [r for r in results if not isinstance(r, BaseException)]
    assert len(joined) == 1
    assert all(isinstance(r, InviteUnusable) and r.why == "used"
               for r in results if isinstance(r, BaseException))
    staff = await world.services.shops.staff(world.cast.actors["owner_a"],
                                             world.cast.shop_a.id)
    assert len(staff) == 4

