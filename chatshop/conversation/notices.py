"""The news of a reservation for the people it concerns, whoever moved it: the shop's
staff (a new reservation, a cancellation), the customer (ready, cancelled, collected,
reminded, expired) and, when someone blocked the bot, whoever can still act.

Customers' and shopkeepers' flows both send these, so they live here, apart from both:
this module imports neither flow.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from chatshop.conversation.cards import reservation_lines
from chatshop.conversation.context import Context, menu_button, say, to_operators
from chatshop.conversation.messages import Button, Recipient, Reply
from chatshop.conversation.pickups import customer_record
from chatshop.conversation.routes import (
    CANCEL_BY_SHOP,
    COLLECTED,
    MY_RESERVATIONS,
    PERSON,
    READY,
)
from chatshop.domain.models import Contact, Reservation, ReservationStatus, User
from chatshop.domain.slots import pickup_line
from chatshop.i18n import _, format_moment, format_money, format_phone
from chatshop.services import Services


def my_reservations_button() -> Button:
    return MY_RESERVATIONS.button(_("📋 My reservations"))


# -- for the shop's staff ----------------------------------------------------------------


def contact_line(contact: Contact | None) -> str | None:
    """« 📞 Mme Dupont · 06 12 34 56 78 »: whom a phone reservation is for (None when
    nobody was named, or the data was erased)."""
    if contact is None or not (contact.name or contact.phone):
        return None
    return "📞 " + " · ".join(part for part in (contact.name, format_phone(contact.phone))
                             if part)


async def staff_name(ctx: Context, reservation: Reservation) -> str:
    """Who a reservation is for, as the staff's lists name it: « 📞 Mme Dupont » for a
    phone one (to the pickup shop's own team only: « 📞 par téléphone » to anyone else),
    else the customer's name."""
    if reservation.by_phone:
        if reservation.shop_id not in ctx.shop_ids:  # the operator: no one's name
            return _("📞 by phone")
        person = reservation.contact or Contact()
        named = person.name or format_phone(person.phone)
        return f"📞 {named}" if named else _("📞 by phone")
    customer = await ctx.person(reservation.user_id)
    return (customer.display_name if customer else "") or _("a customer")


async def reservation_for_staff(ctx: Context, reservation: Reservation, *,
                                handled_here: bool, new: bool = False,
                                to_team: bool = False) -> Reply:
    """A reservation as the shop sees it; the pickup shop gets the buttons to handle it.
    ``to_team``: sent to the pickup shop's team (else shown to the one who asked)."""
    pickup = await ctx.shop(reservation.shop_id)
    head = _("🆕 New reservation {code}") if new else _("Reservation {code}")
    lines = [head.format(code=reservation.code)]
    # A phone reservation's person: for the pickup shop's own team only (not the makers
    # of hosted lines, not the territory's operator).
    own_team = handled_here and (to_team or reservation.shop_id in ctx.shop_ids)
    if reservation.by_phone:
        taker = await ctx.person(reservation.user_id)
        lines.append(_("Taken by phone by {name}").format(
            name=(taker.display_name if taker else "") or "?"))
        if own_team and (person := contact_line(reservation.contact)) is not None:
            lines.append(person)
    else:
        customer = await ctx.person(reservation.user_id)
        lines.append(_("Customer: {name}").format(
            name=(customer.display_name if customer else "") or _("a customer")))
        if customer is not None and customer.phone:
            lines.append(f"📞 {customer.phone}")
    if (record := await customer_record(ctx, reservation)) is not None:  # #12 G
        lines.append(record)
    lines += reservation_lines(reservation)
    lines.append(_("Total: {total} — to be paid in the shop").format(
        total=format_money(reservation.total_cents)))
    if reservation.status.is_live:
        lines.append(_("To collect at {shop} before {deadline}.").format(
            shop=pickup.name, deadline=format_moment(reservation.deadline_at, ctx.tz)))
    if reservation.status.is_live and (planned := pickup_line(
            reservation, ctx.tz, now=ctx.now)) is not None:  # #12 G
        lines.append(planned)
    if not handled_here:
        lines.append(_("(Your products, to be collected at {shop}.)").format(shop=pickup.name))
        return say("\n".join(lines))
    rows: list[tuple[Button, ...]] = []
    if reservation.status is ReservationStatus.PENDING:
        rows.append((READY.button(_("✅ Ready"), reservation=reservation.id),))
    if reservation.status.is_live:
        rows.append((COLLECTED.button(_("🤝 Collected and paid"), reservation=reservation.id),
                     CANCEL_BY_SHOP.button(_("✖️ Cancel"), reservation=reservation.id)))
    if reservation.by_phone and own_team:
        rows.append((PERSON.button(_("👤 Customer data"), reservation=reservation.id),))
    return say("\n".join(lines), *rows)


async def notify_new_reservation(ctx: Context, made: Reservation) -> None:
    """Everyone who runs the pickup shop (and the makers of hosted lines) hears of it;
    for a phone reservation, all but the one who took it (they just did)."""
    for shop_id in sorted(made.shops_to_notify):
        for person in await ctx.services.shops.people_to_notify(shop_id):
            if made.by_phone and person.id == made.user_id:
                continue
            here = shop_id == made.shop_id
            news = await reservation_for_staff(ctx, made, handled_here=here, new=True,
                                               to_team=here)
            ctx.notify(person, news.model_copy(update={"regarding": made.id}))


async def tell_staff(ctx: Context, reservation: Reservation, text: str) -> None:
    """Tell everyone who runs the pickup shop (and the makers of hosted lines). The news
    is marked as regarding the reservation: erasing the customer's data finds it."""
    for shop_id in sorted(reservation.shops_to_notify):
        for person in await ctx.services.shops.people_to_notify(shop_id):
            if person.id != ctx.user.id:
                ctx.notify(person, say(text).model_copy(update={"regarding": reservation.id}))


# -- for the customer --------------------------------------------------------------------


def customer_news(reservation: Reservation, shop_name: str) -> str:
    """What the customer is told when the shop moves their reservation."""
    if reservation.status is ReservationStatus.READY:
        return _("✅ Your reservation {code} is ready at {shop}. Payment in the shop.").format(
            code=reservation.code, shop=shop_name)
    if reservation.status is ReservationStatus.CANCELLED_BY_SHOP:
        return _("✖️ {shop} cancelled your reservation {code}: {reason}").format(
            shop=shop_name, code=reservation.code, reason=reservation.cancel_reason or "")
    if reservation.status is ReservationStatus.EXPIRED:
        return _("⌛ Your reservation {code} at {shop} has expired; the items went back on "
                 "the shelf.").format(code=reservation.code, shop=shop_name)
    return _("🤝 Thank you! Reservation {code} is collected.").format(code=reservation.code)


async def tell_customer(ctx: Context, reservation: Reservation, text: str) -> None:
    """The customer hears ``text`` (never for a phone reservation: the shop calls back)."""
    if reservation.by_phone:
        return
    customer = await ctx.services.customers.get(reservation.user_id)
    if customer is not None:
        ctx.notify(customer, say(text, (my_reservations_button(),)).model_copy(
            update={"regarding": reservation.id}))


async def tell_customer_of(ctx: Context, reservation: Reservation) -> None:
    """The customer hears what the shop just did with their reservation."""
    pickup = await ctx.shop(reservation.shop_id)
    await tell_customer(ctx, reservation, customer_news(reservation, pickup.name))


async def reminder(services: Services, tz: ZoneInfo, reservation: Reservation
                   ) -> list[Reply]:
    """« ⏰ Reminder: your reservation waits for you until … », for its customer."""
    pickup = await services.shops.get(reservation.shop_id)
    text = _("⏰ Reminder: your reservation {code} waits for you at {shop} until "
             "{deadline}. Payment in the shop.").format(
        code=reservation.code, shop=pickup.name,
        deadline=format_moment(reservation.deadline_at, tz))
    return await _to_customer(services, reservation, text)


async def expiry_news(services: Services, reservation: Reservation) -> list[Reply]:
    """« ⌛ Your reservation has expired », for its customer."""
    pickup = await services.shops.get(reservation.shop_id)
    return await _to_customer(services, reservation, customer_news(reservation, pickup.name))


async def _to_customer(services: Services, reservation: Reservation, text: str
                       ) -> list[Reply]:
    if reservation.by_phone:  # its « customer » is the staff member who took it
        return []
    person = await services.customers.get(reservation.user_id)
    if person is None:
        return []
    news = Reply(text=text, buttons=((my_reservations_button(), menu_button()),))
    return [news.model_copy(update={"regarding": reservation.id, "to": Recipient(
        channel=person.channel, user_id=person.external_id,
        display_name=person.display_name)})]


# -- when news did not reach someone -------------------------------------------------------


async def unreachable(services: Services, person: User, reservation_id: int) -> list[Reply]:
    """``person`` blocked the bot and missed news of this reservation: if they are its
    customer, the shop's staff are told (with the phone number, if shared); if they run
    the shop, the territory's operators."""
    reservation = await services.reservations.get(reservation_id)
    if reservation is None:
        return []
    if reservation.user_id != person.id:
        return await _staff_unreachable(services, person, reservation)
    text = _("⚠️ We could not tell the customer of reservation {code} about it: they "
             "blocked the bot.").format(code=reservation.code)
    if person.phone:
        text += "\n" + _("📞 Their phone: {phone}").format(phone=person.phone)
    out = []
    for staff in await services.shops.people_to_notify(reservation.shop_id):
        out.append(Reply(text=text, buttons=((menu_button(),),), to=Recipient(
            channel=staff.channel, user_id=staff.external_id,
            display_name=staff.display_name)))
    return out


async def _staff_unreachable(services: Services, person: User, reservation: Reservation
                             ) -> list[Reply]:
    """Someone who runs a shop blocked the bot: the territory's operators are told,
    so that they can call the shop."""
    shop = await services.shops.get(reservation.shop_id)
    text = _("⚠️ {name} ({shop}) blocked the bot: the news of reservation {code} did not "
             "reach them. Perhaps call the shop.").format(
        name=person.display_name or "?", shop=shop.name, code=reservation.code)
    return to_operators(services, text)
