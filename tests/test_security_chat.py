"""Who may do what, through the chat: every button verb and command of the conversation is
classified in ``PRESS_ROLES`` or ``COMMAND_ROLES`` (a new one nobody thought about fails here),
and one beyond a person's role, forged or typed, is refused politely and changes nothing; so
is an answer the bot never asked for, and the answer of someone removed from the team.

Related tests elsewhere: ``tests/test_conversation_access.py`` (forged shopkeeper buttons from a
customer and from another shop's owner, odd payloads, bad shopkeeper input) and
``tests/test_hostile_input.py`` (forged ids are simply not found).
"""

from __future__ import annotations

from typing import Any

import pytest

from chatshop.conversation.handlers import ANSWERS, COMMANDS, PRESSES
from tests.world import THEIR_OWN, World, refusals

# Every button verb: who may press it, and a payload naming shop A's objects ({a} shop A,
# {b} shop B, {c} shop C, {p} A's honey, {r} the customer's reservation, {m} a commune).
# « anyone »: customers' buttons, which act on the presser's own things only.
ANYONE = "anyone"
PRESS_ROLES: dict[str, tuple[str, str]] = {
    **{verb: (ANYONE, "") for verb in (
        "a", "b", "bc", "bq", "c", "cs", "ct", "er", "ery", "ex", "f", "h", "k", "l", "m",
        "p", "q", "r", "rs", "s", "sq", "na", "nc", "nct", "nh", "nht", "ns", "nw", "un",
        "rx",  # only asks « cancel this reservation? »; the answer (rxy) is checked
        "xt",  # the empty CSV template, the same for everyone
        "nophone",  # « Non merci » to sharing one’s number: stores nothing
        "br",  # reserves what is left of the writer's own basket (by their user id)
    )},
    "rxy": ("own reservation", "rxy:{r}"),
    # shopkeepers of shop A
    "d": ("staff", "d:{a}"), "dr": ("staff", "dr:{a}"), "dp": ("staff", "dp:{a}:0"),
    "da": ("staff", "da:{a}"), "st": ("staff", "st:{a}"), "se": ("staff", "se:{a}:phone"),
    "sk": ("staff", "sk:{a}"), "so": ("staff", "so:{a}"), "sf": ("staff", "sf:{a}"),
    "sv": ("staff", "sv:{a}"), "an": ("staff", "an:{a}"), "xe": ("staff", "xe:{a}"),
    "xp": ("staff", "xp:{a}"), "xr": ("staff", "xr:{a}"),
    "pp": ("staff", "pp:{p}"), "pm": ("staff", "pm:{p}"), "pd": ("staff", "pd:{p}"),
    "pdy": ("staff", "pdy:{p}"), "s+": ("staff", "s+:{p}"), "s-": ("staff", "s-:{p}"),
    "sa": ("staff", "sa:{p}:2:0"), "sr": ("staff", "sr:{p}:1:0"), "sn": ("staff", "sn:{p}:3:0"),
    "px": ("staff", "px:{p}:10"), "pn": ("staff", "pn:{a}:x"),
    "ss": ("staff", "ss:{p}"), "sp": ("staff", "sp:{p}"), "sh": ("staff", "sh:{p}"),
    "pc": ("staff", "pc:{p}:1"), "pl": ("staff", "pl:{p}"), "pla": ("staff", "pla:{p}:{c}"),
    "rv": ("staff", "rv:{r}"), "rr": ("staff", "rr:{r}"), "rc": ("staff", "rc:{r}"),
    "rk": ("staff", "rk:{r}"),
    "ho": ("staff", "ho:{a}"), "hq": ("staff", "hq:{a}:0"), "hr": ("staff", "hr:{a}:{b}"),
    "ha": ("staff", "ha:{a}:{b}"), "hx": ("staff", "hx:{a}:{c}"),
    "iv": ("owner", "iv:{a}"),
    "wg": ("staff", "wg:{a}"), "wa": ("staff", "wa:{a}"), "we": ("staff", "we:{a}"),
    # the territory's operator
    "o": ("operator", "o"), "oc": ("operator", "oc"), "om": ("operator", "om"),
    "on": ("operator", "on:{m}"), "ol": ("operator", "ol:0"), "os": ("operator", "os:{a}"),
    "ot": ("operator", "ot:{a}"), "oi": ("operator", "oi:{a}"), "ow": ("operator", "ow"),
    "owp": ("operator", "owp"), "ows": ("operator", "ows"), "owy": ("operator", "owy"),
    "owf": ("operator", "owf"), "oa": ("operator", "oa"),
    # #12 V: « Prévenez-moi », on the writer's own alerts only (by their user id; another's
    # alert is « no longer there », tests/test_alerts.py)
    "va": (ANYONE, ""), "vl": (ANYONE, ""), "vx": (ANYONE, ""),
    # #12 G: a pickup time, on the writer's own live chat reservation only (another's is
    # not found, tests/test_pickups.py); the shop's rules, for its staff
    "gp": ("own reservation", "gp:{r}:29400000"), "gu": ("own reservation", "gu:{r}"),
    "gc": ("own reservation", "gc:{r}"),
    "gr": ("staff", "gr:{a}"), "gt": ("staff", "gt:{a}:ask"),
    "gk": ("staff", "gk:{a}:max_units_per_product"),
    "gs": ("staff", "gs:{a}:max_units_per_product:1"),
    # #12 J: the day's list carries phone contacts: the shop's own team only (« team »:
    # not the operator); a reservation's card from it, as « rv »
    "j": ("team", "j:{a}"), "jp": ("team", "jp:{a}"), "jr": ("staff", "jr:{r}"),
    # #12 U: a shop's figures for its staff (and the operator), the territory's for the
    # operator
    "uf": ("staff", "uf:{a}"), "ug": ("staff", "ug:{a}"), "ut": ("operator", "ut"),
    # #12 T: the phone and the counter, for the staff of the product's shop; a
    # reservation's person for the pickup shop's staff only ({r} is a chat reservation:
    # it has none, not found for anyone)
    "tp": ("staff", "tp:{p}"), "tq": ("staff", "tq:{p}:1"), "ts": ("staff", "ts:{p}:1"),
    "tr": ("staff", "tr:{p}:x"), "tc": ("staff", "tc:{p}:x"), "tv": ("staff", "tv:{p}"),
    "tw": ("staff", "tw:{p}:1:0"), "td": ("staff", "td:{r}"), "te": ("staff", "te:{r}"),
    "tx": ("staff", "tx:{r}"), "ty": ("staff", "ty:{r}"),
}
COMMAND_ROLES: dict[str, tuple[str, str]] = {
    **{name: (ANYONE, "") for name in (
        "start", "menu", "aide", "help", "boutiques", "communes", "recherche", "chercher",
        "panier", "reservations", "mesreservations", "mesdonnees", "effacer", "abonnement",
        "nouvelles", "desabonnement", "stop",
        "invitation",  # the code is the permission: see the invite tests
    )},
    "boutique": ("staff", "/boutique"), "maboutique": ("staff", "/maboutique"),
    "produits": ("staff", "/produits"), "ajouter": ("staff", "/ajouter"),
    "stock": ("staff", "/stock miel 0"), "prix": ("staff", "/prix miel 0,10"),
    "annonce": ("staff", "/annonce Boutique fermée pour toujours"),
    "partager": ("staff", "/partager"), "affiche": ("staff", "/affiche"),
    "etiquettes": ("staff", "/etiquettes"),
    "territoire": ("operator", "/territoire"), "admin": ("operator", "/admin"),
    "alertes": (ANYONE, ""), "mesalertes": (ANYONE, ""),  # #12 V: one's own alerts
    # #12 J: the day's list, for the shop's own team
    "aujourdhui": ("team", "/aujourdhui"), "aujourd'hui": ("team", "/aujourd'hui"),
    "aujourd’hui": ("team", "/aujourd’hui"), "jour": ("team", "/jour"),
    "chiffres": ("staff", "/chiffres"),  # #12 U: the shop's 8 weeks
    "reserver": ("staff", "/reserver miel x1 pour Pirate"),  # #12 T
    "vendu": ("staff", "/vendu miel 1"),  # #12 T
}
# What each person lacks on shop A: the buttons needing it must be refused to them.
LACKS = {  # « team »: #12 J
    "customer": {"staff", "owner", "operator", "team"},
    "newcomer": {"staff", "owner", "operator", "own reservation", "team"},  # first message
    "owner_b": {"staff", "owner", "operator", "own reservation", "team"},
    "staff_a": {"owner", "operator", "own reservation"},
    "owner_a": {"operator", "own reservation"},
    "operator": {"own reservation", "team"},
}


def test_every_button_and_command_has_a_known_role() -> None:
    assert set(PRESS_ROLES) == set(PRESSES), (
        f"classify these buttons: {sorted(set(PRESSES) - set(PRESS_ROLES))}; "
        f"gone: {sorted(set(PRESS_ROLES) - set(PRESSES))}")
    assert set(COMMAND_ROLES) == set(COMMANDS), (
        f"classify these commands: {sorted(set(COMMANDS) - set(COMMAND_ROLES))}; "
        f"gone: {sorted(set(COMMAND_ROLES) - set(COMMANDS))}")


@pytest.mark.parametrize("who", list(LACKS))
async def test_buttons_and_commands_beyond_ones_role_are_refused_politely(
        world: World, who: str) -> None:
    intruder = world.chat(who)
    await intruder.send("/menu")  # a newcomer is met first
    before = world.snapshot(skip=THEIR_OWN)
    wrong: list[str] = []
    tried = 0
    for roles, typed in [(PRESS_ROLES, False), (COMMAND_ROLES, True)]:
        for _verb, (role, template) in roles.items():
            if role not in LACKS[who] or (typed and who not in ("customer", "newcomer")
                                          and role != "operator"):
                continue  # a shopkeeper's commands act on their own shop
            line = world.payload(template)
            await (intruder.send(line) if typed else intruder.forge(line))
            tried += 1
            if intruder.text not in refusals():
                wrong.append(f"{line} -> {intruder.text!r}")
            await intruder.send("0")  # whatever was asked, an answer must not act
            await intruder.send("Pirate")
            if world.snapshot(skip=THEIR_OWN) != before:
                wrong.append(f"{line} changed the database")
                before = world.snapshot(skip=THEIR_OWN)
    assert tried >= 1
    assert wrong == []


# What the bot may be waiting for, and a typed answer; planted in the state of someone
# who was never asked (a stale state, a tampered database): the answer is checked again.
ANSWER_STATES: dict[str, tuple[dict[str, Any], str]] = {
    "announcement": ({"shop": "{a}"}, "Fermé pour toujours"),
    "cancel_reason": ({"reservation": "{r}"}, "Parce que"),
    "holiday": ({"shop": "{a}"}, "Fermé"),
    "hours": ({"shop": "{a}"}, "lun 9h-12h"),
    "new_name": ({"shop": "{a}"}, "Contrefaçon"),
    "new_price": ({"shop": "{a}", "name": "Contrefaçon"}, "1,00"),
    "new_stock": ({"shop": "{a}", "name": "Contrefaçon", "price": 100}, "5"),
    "price": ({"product": "{p}"}, "0,10"),
    "setting": ({"shop": "{a}", "key": "phone"}, "05 55 00 00 00"),
    "stock": ({"product": "{p}"}, "1"),
    "commune": ({}, "Pirateville 87000"),
    "shop_name": ({"commune": "{m}"}, "Boutique pirate"),
    "search": ({}, "miel"),  # a customer's own
    "phone_quantity": ({"product": "{p}"}, "1"),  # #12 T
    "phone_contact": ({"product": "{p}", "quantity": 1}, "Pirate"),  # #12 T
    "sale_quantity": ({"product": "{p}"}, "1"),  # #12 T
}


def test_every_awaited_answer_is_tried() -> None:
    assert set(ANSWER_STATES) == set(ANSWERS)


@pytest.mark.parametrize("who", ["customer", "owner_b"])
async def test_an_answer_the_bot_never_asked_for_is_checked_again(
        world: World, who: str) -> None:
    intruder = world.chat(who)
    await intruder.send("/menu")
    user_id = world.cast.actors[who].user_id
    before = world.snapshot(skip=THEIR_OWN)
    wrong: list[str] = []
    for kind, (details, typed) in ANSWER_STATES.items():
        filled = {key: int(world.payload(value)) if isinstance(value, str)
                  and value.startswith("{") else value for key, value in details.items()}
        await world.store.conversations.save(user_id, {"await": {"kind": kind, **filled}},
                                             world.clock())
        await intruder.send(typed)
        if kind not in ("new_name", "new_price", "search") \
                and intruder.text not in refusals():
            wrong.append(f"{kind}: {intruder.text!r}")
        if world.snapshot(skip=THEIR_OWN) != before:
            wrong.append(f"{kind} changed the database")
            before = world.snapshot(skip=THEIR_OWN)
    # A photo sent while the state says « the shop's photo » or « that product's photo ».
    for kind, details in [("shop_photo", {"shop": world.cast.shop_a.id}),
                          ("photo", {"product": world.cast.honey.id})]:
        await world.store.conversations.save(user_id, {"await": {"kind": kind, **details}},
                                             world.clock())
        await intruder.photo("")
        if world.snapshot(skip=THEIR_OWN) != before:
            wrong.append(f"a photo for {kind} changed the database")
    assert wrong == []


async def test_someone_removed_from_the_team_mid_dialogue_is_refused(world: World) -> None:
    tom = world.chat("staff_a")
    await tom.forge(f"ss:{world.cast.honey.id}")
    assert "Combien" in tom.text  # asked for the count on the shelf
    await world.services.shops.remove_staff(world.cast.actors["owner_a"],
                                            world.cast.shop_a.id,
                                            world.cast.actors["staff_a"].user_id)
    await tom.send("7")
    assert tom.text in refusals()
    assert (await world.services.catalogue.product(world.cast.honey.id)).on_hand == 10

