"""At the counter and on the phone (#12 §1), for the shop's staff: « /reserver savon
lavande x2 pour Mme Dupont 06 12 34 56 78 » or « 📞 Par téléphone » on a product's
screen; « /vendu savon 2 » or « 🧾 Vendu en boutique »; the phone reservation's
person exported or erased on request.

A phone reservation is the staff member's (``user_id``), for the person of its contact:
nobody is told of it as a customer (the shop calls back); the other people who run the
shop hear of it as of any new reservation. The reservation on its way (product, how
many, for whom) waits in the state under a key that its « ✅ Confirmer » carries: the
reservation's idempotency key, so that a double tap reserves once.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from chatshop.conversation.cards import reservation_lines, status_word
from chatshop.conversation.context import Context, nonce, say
from chatshop.conversation.handlers import Takes, answer, command, handles
from chatshop.conversation.messages import Button, Reply
from chatshop.conversation.notices import contact_line, notify_new_reservation
from chatshop.conversation.product_commands import choose_product, matching_products
from chatshop.conversation.prompts import Prompt
from chatshop.conversation.routes import (
    PERSON,
    PERSON_ERASE,
    PERSON_ERASE_ASK,
    PERSON_EXPORT,
    PHONE_ASK,
    PHONE_CONFIRM,
    PHONE_PICK,
    PHONE_QUANTITY,
    PHONE_SKIP,
    PRODUCT_ADMIN,
    RESERVATION,
    SELL,
    SELL_ASK,
)
from chatshop.conversation.shop_products import back_to, product_screen, typed_quantity
from chatshop.domain.models import Contact, Product, Reservation
from chatshop.domain.parsing import check_quantity
from chatshop.domain.phone_order import parse_contact, parse_phone_order, parse_sale
from chatshop.errors import NotAllowed, NotFound
from chatshop.i18n import _, format_moment, format_money, format_number, format_phone, ngettext

DRAFT = "phone_order"  # in the state: the phone reservation on its way
QUICK = (1, 2, 3)  # the quantities offered as buttons


class PhoneDraft(BaseModel):
    """A phone reservation on its way: ``product`` is 0 until chosen among several."""

    key: str
    product: int = 0
    quantity: int
    name: str = ""
    phone: str = ""


class PhoneQuantity(Prompt):
    """« How many? » after « 📞 Par téléphone »."""

    KIND = "phone_quantity"
    product: int


class PhoneContact(Prompt):
    """« For whom? » (a name and/or a phone, optional) after the quantity."""

    KIND = "phone_contact"
    product: int
    quantity: int


class SaleQuantity(Prompt):
    """« How many sold? » after « 🧾 Vendu en boutique »."""

    KIND = "sale_quantity"
    product: int


def _staff_only(ctx: Context, what: str) -> None:
    if not ctx.shop_ids and not ctx.is_operator:
        raise NotAllowed(what)


def _draft(saved: Any) -> PhoneDraft | None:
    try:
        return PhoneDraft.model_validate(saved) if isinstance(saved, dict) else None
    except ValidationError:
        return None


# -- « /reserver » and « 📞 Par téléphone » --------------------------------------------


@command("reserver")
async def reserve_command(ctx: Context, args: list[str]) -> list[Reply]:
    """``/reserver savon lavande x2 pour Mme Dupont 06 12 34 56 78``: a reservation taken
    by phone, shown to confirm."""
    _staff_only(ctx, "reserve command")
    order = parse_phone_order(" ".join(args))
    found = await matching_products(ctx, order.words)
    draft = PhoneDraft(key=nonce(), quantity=order.quantity, name=order.contact.name,
                       phone=order.contact.phone)
    if len(found) > 1:
        ctx.state[DRAFT] = draft.model_dump()

        async def button(product: Product, label: str) -> Button:
            return PHONE_PICK.button(label, product=product.id, key=draft.key)
        return await choose_product(ctx, order.words, found, button)
    return [await _confirmation(ctx, draft.model_copy(update={"product": found[0].id}))]


@handles(PHONE_PICK)
async def phone_pick(ctx: Context, product: int, key: str) -> list[Reply]:
    """The product chosen among several for a typed « /reserver »."""
    draft = _draft(ctx.state.get(DRAFT))
    if draft is None or draft.key != key:
        raise NotFound("phone order", key)
    return [await _confirmation(ctx, draft.model_copy(update={"product": product}))]


@handles(PHONE_ASK)
async def phone_ask(ctx: Context, product: int) -> list[Reply]:
    """« 📞 Par téléphone »: how many, first."""
    found = await ctx.services.counter.product(ctx.actor, product)
    ctx.expect(PhoneQuantity(product=found.id, back=back_to(found)))
    buttons = tuple(PHONE_QUANTITY.button(str(n), product=found.id, quantity=n)
                    for n in QUICK if n <= max(found.available, 1))
    return [say(_("📞 Reservation by phone: how many « {name} »? ({n} available) Tap or "
                  "type a number.").format(name=found.name,
                                           n=format_number(found.available)),
                buttons, back=back_to(found))]


@answer(PhoneQuantity, Takes.NUMBER)
async def phone_quantity_typed(ctx: Context, text: str, waiting: PhoneQuantity
                               ) -> list[Reply]:
    """The quantity typed after « 📞 Par téléphone »."""
    return await phone_quantity(ctx, waiting.product, typed_quantity(text))


@handles(PHONE_QUANTITY)
async def phone_quantity(ctx: Context, product: int, quantity: int) -> list[Reply]:
    """The quantity chosen: for whom, next (optional)."""
    found = await ctx.services.counter.product(ctx.actor, product)
    check_quantity(quantity)
    ctx.expect(PhoneContact(product=found.id, quantity=quantity, back=back_to(found)))
    return [say(_("For whom? Type the name and/or the phone number, e.g. « Mme Dupont "
                  "06 12 34 56 78 », or tap « Skip »."),
                (PHONE_SKIP.button(_("⏭ Skip"), product=found.id, quantity=quantity),),
                back=back_to(found))]


@answer(PhoneContact)
async def phone_contact(ctx: Context, text: str, waiting: PhoneContact) -> list[Reply]:
    """The name and phone typed: the reservation to confirm."""
    person = parse_contact(text)
    ctx.done_waiting()
    return [await _confirmation(ctx, PhoneDraft(
        key=nonce(), product=waiting.product, quantity=waiting.quantity, name=person.name,
        phone=person.phone))]


@handles(PHONE_SKIP)
async def phone_skip(ctx: Context, product: int, quantity: int) -> list[Reply]:
    """« Passer »: the reservation to confirm, for nobody named."""
    ctx.done_waiting()
    return [await _confirmation(ctx, PhoneDraft(key=nonce(), product=product,
                                                quantity=quantity))]


async def _confirmation(ctx: Context, draft: PhoneDraft) -> Reply:
    """« Réserver 2 × Savon lavande pour Mme Dupont ? » with « ✅ Confirmer »."""
    product = await ctx.services.counter.product(ctx.actor, draft.product)
    check_quantity(draft.quantity)
    ctx.state[DRAFT] = draft.model_dump()
    pickup = await ctx.shop(product.pickup_shop_id)
    lines = [_("📞 Reservation by phone — please check:"),
             f"🛍 {format_number(draft.quantity)} × {product.name} — "
             f"{format_money(product.price_cents * draft.quantity)}",
             contact_line(Contact(name=draft.name, phone=draft.phone)) or
             _("👤 (no name given)"),
             _("To collect at {shop} before {deadline}.").format(
                 shop=pickup.name,
                 deadline=format_moment(pickup.pickup_deadline(ctx.now, ctx.tz), ctx.tz))]
    if draft.quantity > product.available:
        lines.append("⚠️ " + ngettext("Only {n} available.", "Only {n} available.",
                                      product.available).format(
            n=format_number(product.available)))
    return say("\n".join(lines),
               (PHONE_CONFIRM.button(_("✅ Confirm"), product=product.id, key=draft.key),
                PRODUCT_ADMIN.button(_("Cancel"), product=product.id)))


@handles(PHONE_CONFIRM)
async def phone_confirm(ctx: Context, product: int, key: str) -> list[Reply]:
    """« ✅ Confirmer »: reserved; nothing is sent to the person (the shop calls back)."""
    draft = _draft(ctx.state.get(DRAFT))
    if draft is None or draft.key != key or draft.product != product:
        raise NotFound("phone order", key)
    placed = await ctx.services.counter.reserve(
        ctx.actor, product, draft.quantity, Contact(name=draft.name, phone=draft.phone), key)
    made = placed.reservations[0]
    if not placed.replayed:
        await notify_new_reservation(ctx, made)
    return [say(_done(ctx, made), (RESERVATION.button(_("📋 See the reservation"),
                                                      reservation=made.id),
                                   PRODUCT_ADMIN.button(_("🛍 See the product"),
                                                        product=product)))]


def _done(ctx: Context, made: Reservation) -> str:
    lines = [_("✅ Reservation {code} recorded.").format(code=made.code),
             *reservation_lines(made)]
    if (person := contact_line(made.contact)) is not None:
        lines.append(person)
    lines.append(_("To collect before {deadline}. Nothing is sent to the customer: give "
                   "them the code {code} if they ask.").format(
        deadline=format_moment(made.deadline_at, ctx.tz), code=made.code))
    return "\n".join(lines)


# -- « /vendu » and « 🧾 Vendu en boutique » -------------------------------------------


@command("vendu")
async def sold_command(ctx: Context, args: list[str]) -> list[Reply]:
    """``/vendu savon lavande 2``: units sold at the counter leave the stock."""
    _staff_only(ctx, "sold command")
    words, quantity = parse_sale(" ".join(args))
    found = await matching_products(ctx, words)
    if len(found) > 1:
        async def button(product: Product, label: str) -> Button:
            seen = await ctx.services.counter.last_movement(ctx.actor, product.id)
            return SELL.button(label, product=product.id, quantity=quantity, seen=seen)
        return await choose_product(ctx, words, found, button)
    return [_sold(await ctx.services.counter.sell(ctx.actor, found[0].id, quantity),
                  quantity)]


@handles(SELL_ASK)
async def sell_ask(ctx: Context, product: int) -> list[Reply]:
    """« 🧾 Vendu en boutique »: how many were sold."""
    found = await ctx.services.counter.product(ctx.actor, product)
    seen = await ctx.services.counter.last_movement(ctx.actor, found.id)
    ctx.expect(SaleQuantity(product=found.id, back=back_to(found)))
    buttons = tuple(SELL.button(str(n), product=found.id, quantity=n, seen=seen)
                    for n in QUICK if n <= max(found.available, 1))
    return [say(_("🧾 Sold in the shop: how many « {name} »? Tap or type a number.").format(
        name=found.name), buttons, back=back_to(found))]


@answer(SaleQuantity, Takes.NUMBER)
async def sale_typed(ctx: Context, text: str, waiting: SaleQuantity) -> list[Reply]:
    """The number sold, typed."""
    quantity = typed_quantity(text)
    product = await ctx.services.counter.sell(ctx.actor, waiting.product, quantity)
    ctx.done_waiting()
    return [_sold(product, quantity)]


@handles(SELL)
async def sell(ctx: Context, product: int, quantity: int, seen: int) -> list[Reply]:
    """A quantity tapped: sold once, however often it is pressed."""
    changed = await ctx.services.counter.sell(ctx.actor, product, quantity, seen=seen)
    ctx.done_waiting()
    return [_sold(changed, quantity)]


def _sold(product: Product, quantity: int) -> Reply:
    news = ngettext("🧾 {n} sold in the shop.", "🧾 {n} sold in the shop.", quantity).format(
        n=format_number(quantity))
    return product_screen(product, news)


# -- the person of a phone reservation ---------------------------------------------------


@handles(PERSON)
async def contact(ctx: Context, reservation: int) -> list[Reply]:
    """« 👤 Données du client »: who the reservation is for, to export or erase."""
    found = await ctx.services.counter.phone_reservation(ctx.actor, reservation)
    back = RESERVATION.payload(reservation=found.id)
    person = contact_line(found.contact)
    if person is None:
        return [say(_("No personal data is kept for reservation {code}.").format(
            code=found.code), back=back)]
    pickup = await ctx.shop(found.shop_id)
    text = "\n".join([
        _("👤 Customer data of reservation {code}").format(code=found.code), person,
        _("Only the team of {shop} sees it. It is erased 30 days after the reservation "
          "is closed, or now if the customer asks.").format(shop=pickup.name)])
    return [say(text, (PERSON_EXPORT.button(_("📤 Export"), reservation=found.id),
                       PERSON_ERASE_ASK.button(_("🗑 Erase"), reservation=found.id)),
                back=back)]


@handles(PERSON_EXPORT)
async def contact_export(ctx: Context, reservation: int) -> list[Reply]:
    """« 📤 Exporter »: the data and the reservation as a text to forward."""
    found = await ctx.services.counter.phone_reservation(ctx.actor, reservation)
    pickup = await ctx.shop(found.shop_id)
    person = found.contact or Contact()
    lines = [_("Reservation {code} — {shop}").format(code=found.code, shop=pickup.name),
             _("Name: {name}").format(name=person.name or "—"),
             _("Phone: {phone}").format(phone=format_phone(person.phone) or "—"),
             _("Reserved on {moment}").format(moment=format_moment(found.created_at, ctx.tz)),
             *reservation_lines(found),
             _("Total: {total} — to be paid in the shop").format(
                 total=format_money(found.total_cents)),
             _("Status: {status}").format(status=status_word(found.status))]
    return [say("\n".join(lines), back=PERSON.payload(reservation=found.id))]


@handles(PERSON_ERASE_ASK)
async def contact_erase_ask(ctx: Context, reservation: int) -> list[Reply]:
    """« 🗑 Effacer »: asked once more (it cannot be undone)."""
    found = await ctx.services.counter.phone_reservation(ctx.actor, reservation)
    return [say(_("Erase the name and phone number of reservation {code} for good? The "
                  "reservation itself stays.").format(code=found.code),
                (PERSON_ERASE.button(_("🗑 Yes, erase"), reservation=found.id),),
                back=PERSON.payload(reservation=found.id))]


@handles(PERSON_ERASE)
async def contact_erase(ctx: Context, reservation: int) -> list[Reply]:
    """« 🗑 Oui, effacer »: the contact is gone, the reservation stays."""
    done = await ctx.services.counter.erase_contact(ctx.actor, reservation)
    return [say(_("🗑 The customer's data is erased. Reservation {code} stays.").format(
        code=done.code), (RESERVATION.button(_("📋 See the reservation"),
                                             reservation=done.id),))]
