"""« Quand passez-vous ? » (#12 §4), for customers of a shop that asks: the next opening
slots up to the reservation's deadline, or « Je ne sais pas encore », changed later from
« Mes réservations »; the shop's staff hear the choice, and the customer is reminded the
morning of that day. And, for the staff, a customer's reservations not picked up (§5).

Other flows call ``ask_when`` (after a reservation is confirmed), ``change_button`` (the
customer's reservations), ``customer_record`` (the staff's view of a reservation) and
``pickup_reminder`` (the delivery job). This module imports no flow, nor ``notices``
(which imports it)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from chatshop.conversation.context import Context, menu_button, say
from chatshop.conversation.handlers import handles
from chatshop.conversation.messages import Button, Recipient, Reply
from chatshop.conversation.routes import (
    MY_RESERVATIONS,
    PICKUP_CHANGE,
    PICKUP_SLOT,
    PICKUP_UNSURE,
)
from chatshop.domain.models import Reservation
from chatshop.domain.slots import Slot, pickup_line, slot_label
from chatshop.errors import InvalidInput, NotFound
from chatshop.i18n import _, format_hour, format_moment, format_number, ngettext
from chatshop.services import Services

# A slot's button names it by its end in minutes since 1970 (UTC); past this (the year
# 2160), the number is forged.
_LAST_MINUTE = 100_000_000


def _minutes(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def _moment(minutes: int) -> datetime:
    if minutes >= _LAST_MINUTE:
        raise NotFound("pickup slot", minutes)
    return datetime.fromtimestamp(minutes * 60, UTC)


def _my_reservations() -> Button:
    return MY_RESERVATIONS.button(_("📋 My reservations"))


def _question(ctx: Context, reservation: Reservation, slots: list[Slot]) -> Reply:
    rows = [(PICKUP_SLOT.button(slot_label(slot, ctx.now, ctx.tz), reservation=reservation.id,
                                until=_minutes(slot.ends)),) for slot in slots]
    rows.append((PICKUP_UNSURE.button(_("❔ I do not know yet"), reservation=reservation.id),))
    return say(_("🕒 When will you come? Choose a time: the shop will know when to "
                 "expect you."), *rows)


async def ask_when(ctx: Context, made: Reservation) -> Reply | None:
    """« Quand passez-vous ? » with the next slots of ``made``'s shop, when the shop
    asks (``Shop.asks_pickup_time``) and there is a slot before its deadline; else None.
    The caller adds its text under the confirmation, and its buttons instead of the
    confirmation's."""
    if made.by_phone or not made.status.is_live or made.user_id != ctx.user.id:
        return None
    found = await ctx.services.pickups.choice(ctx.user.id, made.id)
    if not found.slots:
        return None
    return _question(ctx, found.reservation, found.slots)


async def change_button(ctx: Context, reservation: Reservation) -> Button | None:
    """« 🕒 Changer l'heure » for one of the customer's live reservations, where its
    shop asks when customers come; else None."""
    if not reservation.status.is_live or reservation.by_phone:
        return None
    if not (await ctx.shop(reservation.shop_id)).asks_pickup_time:
        return None
    label = _("🕒 Change the time") if reservation.pickup_from else _("🕒 Say when I come")
    return PICKUP_CHANGE.button(f"{label} {reservation.code}", reservation=reservation.id)


async def customer_record(ctx: Context, reservation: Reservation) -> str | None:
    """For the staff's view of ``reservation``: « ⚠️ 2 réservations non retirées » when
    its customer let reservations expire at that shop, else None (and for a phone one)."""
    missed = await ctx.services.pickups.not_collected(reservation)
    if not missed:
        return None
    return ngettext("⚠️ {n} reservation not collected", "⚠️ {n} reservations not collected",
                    missed).format(n=format_number(missed))


# -- the customer's choice ---------------------------------------------------------------


@handles(PICKUP_CHANGE)
async def change(ctx: Context, reservation: int) -> list[Reply]:
    """« 🕒 Changer l'heure »: the slots offered now for that reservation."""
    found = await ctx.services.pickups.choice(ctx.user.id, reservation)
    if not found.reservation.status.is_live:
        return [say(_("This reservation is closed: there is no time to choose for it any "
                      "more."), (_my_reservations(),))]
    if not found.shop.asks_pickup_time:
        return [say(_("{shop} does not ask when you come: come when it is open, before "
                      "{deadline}.").format(shop=found.shop.name, deadline=format_moment(
            found.reservation.deadline_at, ctx.tz)), (_my_reservations(),))]
    if not found.slots:
        return [say(_("There is no time left to choose before the end of your reservation "
                      "({deadline}). Come when the shop is open.").format(
            deadline=format_moment(found.reservation.deadline_at, ctx.tz)),
            (_my_reservations(),))]
    asked = _question(ctx, found.reservation, found.slots)
    chosen = pickup_line(found.reservation, ctx.tz, now=ctx.now)
    return [asked if chosen is None else asked.model_copy(
        update={"text": chosen + "\n\n" + asked.text})]


@handles(PICKUP_SLOT)
async def choose(ctx: Context, reservation: int, until: int) -> list[Reply]:
    """A slot pressed: stored for the customer's own live reservation, the shop told; a
    slot no longer offered stores nothing and shows those offered now."""
    try:
        chosen = await ctx.services.pickups.choose(ctx.user.id, reservation, _moment(until))
    except InvalidInput as refused:
        return await _again(ctx, reservation, refused)
    pickup = await ctx.shop(chosen.shop_id)
    when = _when(chosen, ctx.now, ctx.tz)
    await _tell_staff(ctx, chosen, _("🕒 {customer} will come for reservation {code} "
                                     "{when}.").format(customer=_customer(ctx),
                                                       code=chosen.code, when=when))
    return [say(_("✅ Noted: you will come to {shop} {when}. Your reservation {code} is held "
                  "until {deadline}.").format(
        shop=pickup.name, when=when, code=chosen.code,
        deadline=format_moment(chosen.deadline_at, ctx.tz)),
        (PICKUP_CHANGE.button(_("🕒 Change the time"), reservation=chosen.id),
         _my_reservations()))]


@handles(PICKUP_UNSURE)
async def unsure(ctx: Context, reservation: int) -> list[Reply]:
    """« Je ne sais pas encore »: no time kept (a time chosen before is dropped, and the
    shop told); the reservation is held until its deadline all the same."""
    before = await ctx.services.pickups.choice(ctx.user.id, reservation)
    try:
        chosen = await ctx.services.pickups.choose(ctx.user.id, reservation, None)
    except InvalidInput as refused:
        return [say(refused.message(), (_my_reservations(),))]
    if before.reservation.pickup_from is not None:
        await _tell_staff(ctx, chosen, _("🕒 {customer} no longer knows when they will come "
                                         "for reservation {code}.").format(
            customer=_customer(ctx), code=chosen.code))
    rows: list[tuple[Button, ...]] = [(_my_reservations(),)]
    if before.slots:
        rows.insert(0, (PICKUP_CHANGE.button(_("🕒 Say when I come"), reservation=chosen.id),))
    return [say(_("Very well: come when it suits you, before {deadline}.").format(
        deadline=format_moment(chosen.deadline_at, ctx.tz)), *rows)]


async def _again(ctx: Context, reservation: int, refused: InvalidInput) -> list[Reply]:
    """A choice refused: why, and the slots offered now (if any)."""
    shown = await change(ctx, reservation)
    return [shown[0].model_copy(update={"text": refused.message() + "\n\n" + shown[0].text})]


def _when(reservation: Reservation, now: datetime, tz: ZoneInfo) -> str:
    if reservation.pickup_from is None or reservation.pickup_until is None:
        return ""
    return slot_label(Slot(reservation.pickup_from, reservation.pickup_until), now, tz,
                      capital=False)


def _customer(ctx: Context) -> str:
    return ctx.user.display_name or _("A customer")


async def _tell_staff(ctx: Context, reservation: Reservation, text: str) -> None:
    """The pickup shop's team hears of the choice (they hand the items over)."""
    for person in await ctx.services.shops.people_to_notify(reservation.shop_id):
        if person.id != ctx.user.id:
            ctx.notify(person, say(text).model_copy(update={"regarding": reservation.id}))


# -- the morning of that day ----------------------------------------------------------------


async def pickup_reminder(services: Services, tz: ZoneInfo, reservation: Reservation
                          ) -> list[Reply]:
    """« Rappel : vous passez aujourd'hui chez X, 14 h – 18 h, code ABC123 », for the
    customer of a chat reservation whose slot is today (nothing for a phone one)."""
    if reservation.by_phone or reservation.pickup_from is None \
            or reservation.pickup_until is None:
        return []
    person = await services.customers.get(reservation.user_id)
    if person is None:
        return []
    shop = await services.shops.get(reservation.shop_id)
    starts, ends = reservation.pickup_from.astimezone(tz), reservation.pickup_until.astimezone(tz)
    text = _("⏰ Reminder: you are coming to {shop} today, {starts} – {ends}, code {code}. "
             "Payment in the shop.").format(
        shop=shop.name, starts=format_hour(starts.hour, starts.minute),
        ends=format_hour(ends.hour, ends.minute), code=reservation.code)
    news = Reply(text=text, buttons=((_my_reservations(), menu_button()),))
    return [news.model_copy(update={"regarding": reservation.id, "to": Recipient(
        channel=person.channel, user_id=person.external_id,
        display_name=person.display_name)})]
