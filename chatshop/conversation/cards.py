"""How domain objects read in French: shop cards, product cards, reservation proofs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from chatshop.conversation.messages import Link
from chatshop.domain.models import (
    Basket,
    ListedProduct,
    Product,
    Reservation,
    ReservationStatus,
    Shop,
)
from chatshop.i18n import (
    _,
    format_clock,
    format_moment,
    format_money,
    format_number,
    format_phone,
    ngettext,
    weekday_name,
)

LOW_STOCK = 2


def availability(product: Product) -> str:
    """« En stock », « Plus que 2 », « Épuisé »."""
    if product.available <= 0:
        return _("Sold out")
    if product.available <= LOW_STOCK:
        return ngettext("Only {n} left", "Only {n} left", product.available).format(
            n=format_number(product.available))
    return _("In stock")


def sold_out_mark(product: Product) -> str:
    """`` · épuisé`` after a product in a list, when none is left to reserve."""
    return " · " + _("sold out") if product.available <= 0 else ""


def product_line(listed: ListedProduct) -> str:
    """« Miel — 8,50 € » (« · épuisé » when none is left)."""
    product = listed.product
    return f"{product.name} — {format_money(product.price_cents)}{sold_out_mark(product)}"


def only_left(available: int) -> str:
    """« Il n'en reste que 1. »: why a quantity cannot go up."""
    return ngettext("There is only {n} left.", "There are only {n} left.",
                    available).format(n=format_number(available))


def product_card(listed: ListedProduct) -> str:
    product = listed.product
    lines = [f"🛍 {product.name}", f"{format_money(product.price_cents)} · {availability(product)}"]
    if product.description:
        lines += ["", product.description]
    lines.append("")
    if product.is_hosted:
        lines.append(_("Made by {maker}, to collect at {shop} ({commune}).").format(
            maker=listed.maker_name, shop=listed.pickup_shop_name, commune=listed.commune_name))
    else:
        lines.append(_("At {shop} ({commune}).").format(
            shop=listed.pickup_shop_name, commune=listed.commune_name))
    lines.append(_("Reserve here, pay in the shop.") if product.available > 0
                 else _("Sold out for the moment."))
    return "\n".join(lines)


def on_the_web(url: str | None) -> Link | None:
    """« 🌐 Voir sur le web » under a shop's or a product's card: its page in the shop
    window, to pass on (None when the window's address is not known)."""
    return None if url is None else Link(label=_("🌐 See it on the web"), url=url)


def opening_hours(shop: Shop) -> list[str]:
    days: dict[int, list[str]] = {}
    for slot in shop.hours:
        days.setdefault(slot.weekday, []).append(
            f"{format_clock(slot.opens)}–{format_clock(slot.closes)}")
    return [f"{weekday_name(day).capitalize()} : {', '.join(slots)}"
            for day, slots in sorted(days.items())]


def shop_card(shop: Shop, commune: str, now: datetime, tz: ZoneInfo) -> str:
    lines = [f"🏪 {shop.name} — {commune}"]
    if shop.on_holiday:
        lines.append(_("🏖 Closed for the holidays.") + (
            f" {shop.holiday_message}" if shop.holiday_message else ""))
    elif shop.hours:
        lines.append(_("🟢 Open now") if shop.is_open_at(now, tz) else _("🔴 Closed now"))
    if shop.description:
        lines += ["", shop.description]
    lines.append("")
    if shop.address:
        lines.append(f"📍 {shop.address}")
    if shop.phone:
        lines.append(f"📞 {format_phone(shop.phone)}")
    hours = opening_hours(shop)
    if hours:
        lines += ["", _("Opening hours:"), *hours]
    if shop.pickup_instructions:
        lines += ["", _("Collecting: {text}").format(text=shop.pickup_instructions)]
    return "\n".join(lines)


def basket_text(basket: Basket, shop_name: str) -> str:
    lines = [_("🧺 At {shop}:").format(shop=shop_name)]
    lines += [f"• {format_number(line.quantity)} × {line.product.name} — "
              f"{format_money(line.total_cents)}" for line in basket.lines]
    lines.append(_("Total: {total}").format(total=format_money(basket.total_cents)))
    return "\n".join(lines)


STATUS = {
    ReservationStatus.PENDING: "⏳",
    ReservationStatus.READY: "✅",
    ReservationStatus.COLLECTED: "🤝",
    ReservationStatus.CANCELLED_BY_CUSTOMER: "✖️",
    ReservationStatus.CANCELLED_BY_SHOP: "✖️",
    ReservationStatus.EXPIRED: "⌛",
}


def status_word(status: ReservationStatus) -> str:
    return {
        ReservationStatus.PENDING: _("being prepared"),
        ReservationStatus.READY: _("ready to collect"),
        ReservationStatus.COLLECTED: _("collected"),
        ReservationStatus.CANCELLED_BY_CUSTOMER: _("cancelled by you"),
        ReservationStatus.CANCELLED_BY_SHOP: _("cancelled by the shop"),
        ReservationStatus.EXPIRED: _("expired"),
    }[status]


def reservation_lines(reservation: Reservation) -> list[str]:
    return [f"• {format_number(line.quantity)} × {line.name} — "
            f"{format_money(line.total_cents)}" for line in reservation.lines]


def reservation_proof(reservation: Reservation, shop: Shop, tz: ZoneInfo) -> str:
    """The confirmation a customer can show at the counter: it is their written proof."""
    lines = [
        _("✅ Reservation confirmed"),
        _("Code: {code}").format(code=reservation.code),
        "",
        *reservation_lines(reservation),
        _("Total: {total} — payment in the shop").format(
            total=format_money(reservation.total_cents)),
        "",
        f"🏪 {shop.name}",
    ]
    if shop.address:
        lines.append(f"📍 {shop.address}")
    lines.append(_("To collect before {deadline}.").format(
        deadline=format_moment(reservation.deadline_at, tz)))
    if shop.pickup_instructions:
        lines.append(shop.pickup_instructions)
    return "\n".join(lines)


def reservation_summary(reservation: Reservation, shop_name: str, tz: ZoneInfo) -> str:
    return "\n".join([
        f"{STATUS[reservation.status]} {reservation.code} — {shop_name} — "
        f"{format_money(reservation.total_cents)} ({status_word(reservation.status)})",
        *reservation_lines(reservation),
        _("To collect before {deadline}.").format(
            deadline=format_moment(reservation.deadline_at, tz))
        if reservation.status.is_live else "",
    ]).strip()
