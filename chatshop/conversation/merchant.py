"""What shopkeepers do, in the same chat: join by invite, see their dashboard, handle
reservations, add products (a captioned photo is enough), change stock and prices,
adjust their shop's card, invite staff, host other makers, import and export CSV.

Every handler names the shop or product it acts on, and the services re-check that this
person runs it: a forged button gets « réservé à l'équipe » and changes nothing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import time

from chatshop.conversation.cards import (
    availability,
    opening_hours,
    reservation_lines,
)
from chatshop.conversation.context import Context, say
from chatshop.conversation.handlers import answer, arg, command, press
from chatshop.conversation.messages import Button, Document, Reply
from chatshop.domain.models import (
    Channel,
    HostingStatus,
    OpeningInterval,
    Product,
    ProductChanges,
    Reservation,
    ReservationStatus,
    Role,
    ShopDetails,
)
from chatshop.domain.parsing import clean_description, parse_opening_hours, parse_price
from chatshop.errors import InvalidInput, NotAllowed, NotFound
from chatshop.i18n import _, format_moment, format_money, format_number, ngettext

PAGE = 5
LOW_STOCK = 2


# -- joining and the dashboard ---------------------------------------------------------


@command("invitation")
async def accept_invite(ctx: Context, args: list[str]) -> list[Reply]:
    """Join a shop's team with the invite code the operator or the owner sent."""
    if not args:
        raise InvalidInput(_("Please type the invitation code after /invitation."))
    member = await ctx.services.shops.accept_invite(ctx.user.id, args[0])
    joined = await ctx.services.shops.get(member.shop_id)
    text = (_("Welcome! You are now the owner of {shop}.") if member.role is Role.OWNER
            else _("Welcome! You are now part of the team of {shop}.")).format(shop=joined.name)
    return [say(text, (Button(label=_("🏪 My shop"), payload=f"d:{joined.id}"),))]


async def _my_shop(ctx: Context, args: list[str]) -> int | None:
    """The shop named by the button, else the only one this person runs, else the one
    whose dashboard they opened last (remembered for photos and files)."""
    if args:
        shop_id = arg(args, 0, "shop")
        if shop_id in ctx.shop_ids:
            ctx.state["shop"] = shop_id
        return shop_id
    if len(ctx.shop_ids) == 1:
        return ctx.shop_ids[0]
    remembered = ctx.state.get("shop")
    return remembered if remembered in ctx.shop_ids else None


@press("d")
@command("boutique", "maboutique")
async def dashboard(ctx: Context, args: list[str]) -> list[Reply]:
    """Today's work at a glance: reservations to prepare, products running low."""
    shop_id = await _my_shop(ctx, args)
    if shop_id is None:
        if not ctx.shop_ids:
            raise NotAllowed("not staff anywhere")
        choices: list[tuple[Button, ...]] = []
        for each in ctx.shop_ids[:PAGE]:
            found = await ctx.services.shops.get(each)
            choices.append((Button(label=f"🏪 {found.name}", payload=f"d:{found.id}"),))
        return [say(_("Which shop?"), *choices)]
    found = await ctx.services.shops.get(shop_id)
    live = await ctx.services.reservations.for_shop(ctx.actor, shop_id)
    own = await ctx.services.catalogue.maker_products(ctx.actor, shop_id, limit=50)
    low = [p for p in own.items if not p.hidden and p.available <= LOW_STOCK]
    lines = [f"🏪 {found.name}"]
    if found.on_holiday:
        lines.append(_("🏖 Closed for the holidays: customers cannot reserve."))
    pending = sum(1 for r in live if r.status is ReservationStatus.PENDING)
    lines.append(ngettext("📋 {n} reservation to prepare", "📋 {n} reservations to prepare",
                          pending).format(n=pending))
    ready = len(live) - pending
    if ready:
        lines.append(ngettext("✅ {n} ready, waiting for the customer",
                              "✅ {n} ready, waiting for their customers", ready).format(n=ready))
    if low:
        lines.append(_("⚠️ Low stock: {names}").format(
            names=", ".join(f"{p.name} ({p.available})" for p in low[:5])))
    rows = [
        (Button(label=_("📋 Reservations ({n})").format(n=len(live)), payload=f"dr:{shop_id}"),
         Button(label=_("🛍 Products"), payload=f"dp:{shop_id}:0")),
        (Button(label=_("➕ Add a product"), payload=f"da:{shop_id}"),
         Button(label=_("⚙️ Settings"), payload=f"st:{shop_id}")),
        (Button(label=_("👥 Invite"), payload=f"iv:{shop_id}"),
         Button(label=_("📤 Export"), payload=f"xe:{shop_id}")),
        (Button(label=_("🤝 Hosting"), payload=f"ho:{shop_id}"),),
    ]
    lines.append(_("To add a product, you can also send a photo captioned like "
                   "« Savon lavande 6,50 € x12 »."))
    return [say("\n".join(lines), *rows)]


# -- reservations ----------------------------------------------------------------------


async def reservation_for_staff(ctx: Context, reservation: Reservation, *,
                                handled_here: bool, new: bool = False) -> Reply:
    """A reservation as the shop sees it; the pickup shop gets the buttons to handle it."""
    customer = await ctx.person(reservation.user_id)
    pickup = await ctx.shop(reservation.shop_id)
    head = _("🆕 New reservation {code}") if new else _("Reservation {code}")
    lines = [head.format(code=reservation.code),
             _("Customer: {name}").format(name=(customer.display_name if customer else "")
                                          or _("a customer"))]
    if customer is not None and customer.phone:
        lines.append(f"📞 {customer.phone}")
    lines += reservation_lines(reservation)
    lines.append(_("Total: {total} — to be paid in the shop").format(
        total=format_money(reservation.total_cents)))
    if reservation.status.is_live:
        lines.append(_("To collect at {shop} before {deadline}.").format(
            shop=pickup.name, deadline=format_moment(reservation.deadline_at, ctx.tz)))
    if not handled_here:
        lines.append(_("(Your products, to be collected at {shop}.)").format(shop=pickup.name))
        return say("\n".join(lines))
    rows: list[tuple[Button, ...]] = []
    if reservation.status is ReservationStatus.PENDING:
        rows.append((Button(label=_("✅ Ready"), payload=f"rr:{reservation.id}"),))
    if reservation.status.is_live:
        rows.append((Button(label=_("🤝 Collected and paid"), payload=f"rc:{reservation.id}"),
                     Button(label=_("✖️ Cancel"), payload=f"rk:{reservation.id}")))
    return say("\n".join(lines), *rows)


@press("dr")
async def shop_reservations(ctx: Context, args: list[str]) -> list[Reply]:
    """The reservations to handle, soonest deadline first."""
    shop_id = arg(args, 0, "shop")
    live = await ctx.services.reservations.for_shop(ctx.actor, shop_id)
    if not live:
        return [say(_("No reservation to handle. 🎉"), back=f"d:{shop_id}")]
    rows = []
    for each in live[:PAGE]:
        customer = await ctx.services.customers.get(each.user_id)
        name = (customer.display_name if customer else "") or _("a customer")
        mark = "✅" if each.status is ReservationStatus.READY else "⏳"
        rows.append((Button(label=f"{mark} {each.code} · {name} · "
                                  f"{format_money(each.total_cents)}"[:64],
                            payload=f"rv:{each.id}"),))
    text = ngettext("{n} reservation:", "{n} reservations:", len(live)).format(n=len(live))
    return [say(text, *rows, back=f"d:{shop_id}")]


@press("rv")
async def reservation_view(ctx: Context, args: list[str]) -> list[Reply]:
    reservation = await _staffed_reservation(ctx, arg(args, 0, "reservation"))
    return [await reservation_for_staff(ctx, reservation, handled_here=True)]


async def _staffed_reservation(ctx: Context, reservation_id: int) -> Reservation:
    return await ctx.services.reservations.for_staff(ctx.actor, reservation_id)


@press("rr")
async def mark_ready(ctx: Context, args: list[str]) -> list[Reply]:
    """The items are set aside: the customer is told they can come."""
    done = await ctx.services.reservations.mark_ready(ctx.actor, arg(args, 0, "reservation"))
    await _tell_customer_of(ctx, done)
    return [say(_("Reservation {code} is ready; the customer has been told.").format(
        code=done.code), (Button(label=_("📋 Reservations"), payload=f"dr:{done.shop_id}"),))]


@press("rc")
async def mark_collected(ctx: Context, args: list[str]) -> list[Reply]:
    """Paid and taken away: the stock goes down for good."""
    done = await ctx.services.reservations.mark_collected(ctx.actor,
                                                          arg(args, 0, "reservation"))
    await _tell_customer_of(ctx, done)
    return [say(_("Reservation {code} is collected and paid. Thank you!").format(
        code=done.code), (Button(label=_("📋 Reservations"), payload=f"dr:{done.shop_id}"),))]


@press("rk")
async def cancel_ask_reason(ctx: Context, args: list[str]) -> list[Reply]:
    reservation = await _staffed_reservation(ctx, arg(args, 0, "reservation"))
    ctx.expect("cancel_reason", reservation=reservation.id)
    return [say(_("Why cancel {code}? Type a short reason for the customer (e.g. « sold out, "
                  "sorry »).").format(code=reservation.code), back=f"rv:{reservation.id}")]


@answer("cancel_reason")
async def cancel_with_reason(ctx: Context, text: str) -> list[Reply]:
    waiting = ctx.state.get("answering", {})
    done = await ctx.services.reservations.cancel_by_shop(
        ctx.actor, int(waiting.get("reservation", 0)), text)
    await _tell_customer_of(ctx, done)
    return [say(_("Reservation {code} is cancelled; the customer has been told why.").format(
        code=done.code), (Button(label=_("📋 Reservations"), payload=f"dr:{done.shop_id}"),))]


async def _tell_customer_of(ctx: Context, reservation: Reservation) -> None:
    from chatshop.conversation.customer import customer_news, tell_customer
    pickup = await ctx.shop(reservation.shop_id)
    await tell_customer(ctx, reservation, customer_news(reservation, pickup.name))


async def tell_staff(ctx: Context, reservation: Reservation, text: str) -> None:
    """Tell everyone who runs the pickup shop (and the makers of hosted lines). The news
    is marked as regarding the reservation: erasing the customer's data finds it."""
    for shop_id in sorted(reservation.shops_to_notify):
        for person in await ctx.services.shops.people_to_notify(shop_id):
            if person.id != ctx.user.id:
                ctx.notify(person, say(text).model_copy(update={"regarding": reservation.id}))


# -- products --------------------------------------------------------------------------


@press("dp")
@command("produits")
async def product_list(ctx: Context, args: list[str]) -> list[Reply]:
    """The shop's own products, hidden ones included, a page at a time."""
    shop_id = await _my_shop(ctx, args[:1])
    if shop_id is None:
        return await dashboard(ctx, [])
    offset = arg(args, 1) if len(args) > 1 else 0
    page = await ctx.services.catalogue.maker_products(ctx.actor, shop_id, offset=offset,
                                                       limit=PAGE)
    if not page.items:
        return [say(_("No product yet. Send a photo captioned « Savon lavande 6,50 € x12 », "
                      "or tap « Add a product »."),
                    (Button(label=_("➕ Add a product"), payload=f"da:{shop_id}"),),
                    back=f"d:{shop_id}")]
    rows = [(Button(label=_stock_label(p), payload=f"pp:{p.id}"),) for p in page.items]
    paging = []
    if offset > 0:
        paging.append(Button(label=_("◀️ Previous"),
                             payload=f"dp:{shop_id}:{max(offset - PAGE, 0)}"))
    if offset + PAGE < page.total:
        paging.append(Button(label=_("Next ▶️"), payload=f"dp:{shop_id}:{offset + PAGE}"))
    return [say(ngettext("{n} product:", "{n} products:", page.total).format(n=page.total),
                *rows, tuple(paging), back=f"d:{shop_id}", edit=offset > 0)]


def _stock_label(product: Product) -> str:
    hidden = "🙈 " if product.hidden else ""
    return f"{hidden}{product.name} · {format_money(product.price_cents)} · " \
           f"{product.on_hand}"[:64]


def _product_admin(product: Product) -> Reply:
    lines = [f"🛍 {product.name} — {format_money(product.price_cents)}",
             _("Stock: {on_hand} on the shelf, {reserved} reserved, {available} available "
               "({label}).").format(on_hand=product.on_hand, reserved=product.reserved,
                                    available=product.available,
                                    label=availability(product))]
    if product.hidden:
        lines.append(_("🙈 Hidden: customers do not see it."))
    rows = [
        (Button(label="➖ 1", payload=f"s-:{product.id}"),
         Button(label="➕ 1", payload=f"s+:{product.id}")),
        (Button(label=_("🔢 Stock…"), payload=f"ss:{product.id}"),
         Button(label=_("💶 Price…"), payload=f"sp:{product.id}")),
        (Button(label=_("👁 Show") if product.hidden else _("🙈 Hide"),
                payload=f"sh:{product.id}"),
         Button(label=_("More…"), payload=f"pm:{product.id}")),
    ]
    return say("\n".join(lines), *rows, back=f"dp:{product.shop_id}:0")


@press("pp")
async def product_admin(ctx: Context, args: list[str]) -> list[Reply]:
    product = await _managed(ctx, arg(args, 0, "product"))
    return [_product_admin(product)]


async def _managed(ctx: Context, product_id: int) -> Product:
    product = await ctx.services.catalogue.product(product_id)
    if product.shop_id not in ctx.shop_ids and not ctx.is_operator:
        raise NotAllowed(f"product {product_id}")
    return product


@press("pm")
async def product_more(ctx: Context, args: list[str]) -> list[Reply]:
    """What is done less often with a product: where it is collected, deleting it."""
    product = await _managed(ctx, arg(args, 0, "product"))
    return [say(f"🛍 {product.name}",
                (Button(label=_("📍 Display at…"), payload=f"pl:{product.id}"),
                 Button(label=_("🗑 Delete"), payload=f"pd:{product.id}")),
                back=f"pp:{product.id}")]


@press("pd")
async def delete_ask(ctx: Context, args: list[str]) -> list[Reply]:
    """Deleting cannot be undone: ask once more."""
    product = await _managed(ctx, arg(args, 0, "product"))
    if product.reserved:
        return [say(ngettext(
            "« {name} » is still reserved ({n}). Mark the reservation « collected » or "
            "cancel it, then delete the product. Meanwhile you can hide it.",
            "« {name} » is still reserved ({n}). Mark the reservations « collected » or "
            "cancel them, then delete the product. Meanwhile you can hide it.",
            product.reserved).format(name=product.name, n=product.reserved),
            (Button(label=_("🙈 Hide"), payload=f"sh:{product.id}"),
             Button(label=_("📋 Reservations"), payload=f"dr:{product.shop_id}")),
            back=f"pp:{product.id}")]
    return [say(_("Delete « {name} » for good? It leaves your list, the search and "
                  "customers' baskets; past reservations keep its name. To take it off "
                  "sale for a while, hide it instead.").format(name=product.name),
                (Button(label=_("🗑 Yes, delete"), payload=f"pdy:{product.id}"),
                 Button(label=_("🙈 Hide instead"), payload=f"sh:{product.id}")),
                back=f"pp:{product.id}")]


@press("pdy")
async def delete(ctx: Context, args: list[str]) -> list[Reply]:
    gone = await ctx.services.catalogue.delete_product(ctx.actor, arg(args, 0, "product"))
    listing = await product_list(ctx, [str(gone.shop_id), "0"])
    told = _("🗑 « {name} » is deleted.").format(name=gone.name)
    return [listing[0].model_copy(update={"text": told + "\n\n" + listing[0].text})]


@press("s+")
async def stock_plus(ctx: Context, args: list[str]) -> list[Reply]:
    product = await ctx.services.catalogue.add_stock(ctx.actor, arg(args, 0, "product"), 1)
    return [_product_admin(product).model_copy(update={"edit": True})]


@press("s-")
async def stock_minus(ctx: Context, args: list[str]) -> list[Reply]:
    product = await ctx.services.catalogue.remove_stock(ctx.actor, arg(args, 0, "product"), 1)
    return [_product_admin(product).model_copy(update={"edit": True})]


@press("sh")
async def toggle_hidden(ctx: Context, args: list[str]) -> list[Reply]:
    current = await _managed(ctx, arg(args, 0, "product"))
    product = await ctx.services.catalogue.update_product(
        ctx.actor, current.id, ProductChanges(hidden=not current.hidden))
    return [_product_admin(product).model_copy(update={"edit": True})]


@press("ss")
async def ask_stock(ctx: Context, args: list[str]) -> list[Reply]:
    product = await _managed(ctx, arg(args, 0, "product"))
    ctx.expect("stock", product=product.id)
    return [say(_("How many « {name} » are on the shelf now? Type a number.").format(
        name=product.name), back=f"pp:{product.id}")]


@answer("stock")
async def set_stock(ctx: Context, text: str) -> list[Reply]:
    waiting = ctx.state.get("answering", {})
    count = _whole_number(text)
    product = await ctx.services.catalogue.set_stock(ctx.actor, int(waiting.get("product", 0)),
                                                     count)
    return [_product_admin(product)]


@press("sp")
async def ask_price(ctx: Context, args: list[str]) -> list[Reply]:
    product = await _managed(ctx, arg(args, 0, "product"))
    ctx.expect("price", product=product.id)
    return [say(_("New price of « {name} »? Type it like 6,50.").format(name=product.name),
                back=f"pp:{product.id}")]


@answer("price")
async def set_price(ctx: Context, text: str) -> list[Reply]:
    waiting = ctx.state.get("answering", {})
    product = await ctx.services.catalogue.update_product(
        ctx.actor, int(waiting.get("product", 0)), ProductChanges(price_cents=parse_price(text)))
    return [_product_admin(product)]


def _whole_number(text: str) -> int:
    cleaned = text.strip()
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 6:
        raise InvalidInput(_("Please type a whole number, e.g. 12."))
    return int(cleaned)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


async def _find_product(ctx: Context, name: str) -> Product:
    """One of this person's products by (the start of) its name, accents ignored."""
    wanted = _fold(name)
    candidates: list[Product] = []
    for shop_id in ctx.shop_ids:
        page = await ctx.services.catalogue.maker_products(ctx.actor, shop_id, limit=50)
        offset = 0
        while True:
            candidates += page.items
            offset += len(page.items)
            if not page.has_next:
                break
            page = await ctx.services.catalogue.maker_products(ctx.actor, shop_id,
                                                               offset=offset, limit=50)
    exact = [p for p in candidates if _fold(p.name) == wanted]
    starting = [p for p in candidates if _fold(p.name).startswith(wanted)]
    found = exact or starting or [p for p in candidates if wanted in _fold(p.name)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise InvalidInput(_("No product of yours is called « {name} ».").format(name=name))
    raise InvalidInput(_("Several products match « {name} »: {names}. Please be more "
                         "precise.").format(name=name,
                                            names=", ".join(p.name for p in found[:5])))


def _split_last(args: list[str], usage: str) -> tuple[str, str]:
    if len(args) < 2:
        raise InvalidInput(usage)
    return " ".join(args[:-1]), args[-1]


@command("stock")
async def stock_command(ctx: Context, args: list[str]) -> list[Reply]:
    """``/stock savon lavande 12``: the shelf now holds 12."""
    if not ctx.shop_ids and not ctx.is_operator:
        raise NotAllowed("stock command")
    name, count = _split_last(args, _("Type it like this: /stock savon lavande 12"))
    product = await _find_product(ctx, name)
    updated = await ctx.services.catalogue.set_stock(ctx.actor, product.id,
                                                     _whole_number(count))
    return [_product_admin(updated)]


@command("prix")
async def price_command(ctx: Context, args: list[str]) -> list[Reply]:
    """``/prix savon lavande 6,50``."""
    if not ctx.shop_ids and not ctx.is_operator:
        raise NotAllowed("price command")
    if len(args) >= 3 and args[-1] in ("€", "eur", "euros"):
        args = [*args[:-2], args[-2] + " €"]
    name, price = _split_last(args, _("Type it like this: /prix savon lavande 6,50"))
    product = await _find_product(ctx, name)
    updated = await ctx.services.catalogue.update_product(
        ctx.actor, product.id, ProductChanges(price_cents=parse_price(price)))
    return [_product_admin(updated)]


# -- adding products -------------------------------------------------------------------


@press("da")
@command("ajouter")
async def add_start(ctx: Context, args: list[str]) -> list[Reply]:
    """Step by step: name, price, stock (then a photo if they like)."""
    shop_id = await _my_shop(ctx, args)
    if shop_id is None:
        return await dashboard(ctx, [])
    await ctx.services.shops.staff(ctx.actor, shop_id)  # staff only, before asking anything
    ctx.expect("new_name", shop=shop_id)
    return [say(_("Name of the new product? (80 characters at most)\n"
                  "Tip: a photo captioned « Savon lavande 6,50 € x12 » does it all at "
                  "once."), back=f"d:{shop_id}")]


@answer("new_name")
async def add_name(ctx: Context, text: str) -> list[Reply]:
    from chatshop.domain.parsing import clean_name
    waiting = ctx.state.get("answering", {})
    ctx.expect("new_price", shop=waiting.get("shop"), name=clean_name(text))
    return [say(_("Price? Type it like 6,50."))]


@answer("new_price")
async def add_price(ctx: Context, text: str) -> list[Reply]:
    waiting = ctx.state.get("answering", {})
    ctx.expect("new_stock", shop=waiting.get("shop"), name=waiting.get("name"),
               price=parse_price(text))
    return [say(_("How many do you have? Type a number (0 if none yet)."))]


@answer("new_stock")
async def add_stock(ctx: Context, text: str) -> list[Reply]:
    waiting = ctx.state.get("answering", {})
    product = await ctx.services.catalogue.add_product(
        ctx.actor, int(waiting.get("shop", 0)), name=str(waiting.get("name", "")),
        price_cents=int(waiting.get("price", 0)), on_hand=_whole_number(text))
    return await _added(ctx, product)


async def _added(ctx: Context, product: Product) -> list[Reply]:
    """After a product is created: ask its category if needed, offer a photo."""
    ctx.expect("photo", product=product.id)
    text = _("✅ « {name} » is in your catalogue: {price}, {n} in stock.").format(
        name=product.name, price=format_money(product.price_cents), n=product.on_hand)
    if product.category_id is None:
        categories = await ctx.services.catalogue.categories()
        rows = [(Button(label=c.name, payload=f"pc:{product.id}:{c.id}"),)
                for c in categories[:6]]
        return [say(text + "\n" + _("Which category? (You can also send its photo now.)"),
                    *rows, back=f"pp:{product.id}")]
    return [say(text + "\n" + _("Send its photo now if you like."),
                (Button(label=_("🛍 See the product"), payload=f"pp:{product.id}"),))]


@press("pc")
async def set_category(ctx: Context, args: list[str]) -> list[Reply]:
    product = await ctx.services.catalogue.update_product(
        ctx.actor, arg(args, 0, "product"), ProductChanges(category_id=arg(args, 1, "category")))
    return [_product_admin(product)]


def _elsewhere(ctx: Context, kept: str | None) -> list[Channel]:
    """The other platforms a kept copy of a photo is for."""
    others: list[Channel] = ["telegram", "whatsapp"]
    return [] if kept is None else [c for c in others if c != ctx.channel]


async def photo(ctx: Context, file_ref: str, caption: str,
                kept: str | None = None) -> list[Reply]:
    """A shopkeeper's photo: with a caption it is a new product; without one it is the
    photo of the product just added. A kept copy (``kept``) is what the other platforms
    show."""
    from chatshop.domain.captions import guess_category, parse_caption
    shop_id = await _my_shop(ctx, [])
    waiting = ctx.awaiting() or {}
    if waiting.get("kind") == "shop_photo":
        shop = await ctx.services.shops.set_photo(ctx.actor, int(waiting.get("shop", 0)),
                                                  ctx.channel, file_ref)
        for other in _elsewhere(ctx, kept):
            await ctx.services.shops.set_photo(ctx.actor, shop.id, other, str(kept))
        ctx.done_waiting()
        return [say(_("📷 Photo of {shop} updated.").format(shop=shop.name),
                    back=f"st:{shop.id}")]
    if not caption.strip():
        if waiting.get("kind") == "photo":
            product = await ctx.services.catalogue.set_photo(
                ctx.actor, int(waiting.get("product", 0)), ctx.channel, file_ref)
            for other in _elsewhere(ctx, kept):
                await ctx.services.catalogue.set_photo(ctx.actor, product.id, other, str(kept))
            ctx.done_waiting()
            return [say(_("📷 Photo added to « {name} ».").format(name=product.name),
                        (Button(label=_("🛍 See the product"), payload=f"pp:{product.id}"),))]
        raise InvalidInput(_("Add a caption to the photo, like « Savon lavande 6,50 € x12 »: "
                             "name, price and stock."))
    if shop_id is None:
        raise InvalidInput(_("You run several shops: open /boutique first, then send the "
                             "photo.")) if ctx.shop_ids else NotAllowed("photo")
    draft = parse_caption(caption)
    category = guess_category(draft.name, await ctx.services.catalogue.categories())
    product = await ctx.services.catalogue.add_product(
        ctx.actor, shop_id, name=draft.name, price_cents=draft.price_cents,
        on_hand=draft.on_hand, category_id=category.id if category else None,
        photo=(ctx.channel, file_ref))
    for other in _elsewhere(ctx, kept):
        product = await ctx.services.catalogue.set_photo(ctx.actor, product.id, other,
                                                         str(kept))
    replies = await _added(ctx, product)
    ctx.done_waiting()
    return replies


# -- settings, staff -------------------------------------------------------------------


_SETTINGS: dict[str, tuple[str, Callable[[], str]]] = {
    "address": ("📍", lambda: _("Address")),
    "phone": ("📞", lambda: _("Phone")),
    "description": ("📝", lambda: _("Description")),
    "pickup_instructions": ("🛎", lambda: _("How to collect")),
    "hold_hours": ("⏱", lambda: _("Hold (hours)")),
}


@press("st")
async def settings(ctx: Context, args: list[str]) -> list[Reply]:
    """The shop's card as customers see it, and what can be changed here."""
    shop_id = arg(args, 0, "shop")
    await ctx.services.shops.staff(ctx.actor, shop_id)
    found = await ctx.services.shops.get(shop_id)
    lines = [f"⚙️ {found.name}",
             f"📍 {found.address or '—'}", f"📞 {found.phone or '—'}",
             f"🛎 {found.pickup_instructions or '—'}",
             _("⏱ Reservations held {n} h.").format(n=found.hold_hours)]
    buttons = [Button(label=f"{icon} {label()}", payload=f"se:{shop_id}:{key}")
               for key, (icon, label) in _SETTINGS.items()]
    buttons.append(Button(label=_("🕘 Opening hours"), payload=f"sk:{shop_id}"))
    buttons.append(Button(label=_("More…"), payload=f"so:{shop_id}"))
    rows = [tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]
    return [say("\n".join(lines), *rows, back=f"d:{shop_id}")]


@press("se")
async def ask_setting(ctx: Context, args: list[str]) -> list[Reply]:
    shop_id = arg(args, 0, "shop")
    key = args[1] if len(args) > 1 else ""
    if key not in _SETTINGS:
        raise NotFound("setting", key)
    await ctx.services.shops.staff(ctx.actor, shop_id)
    ctx.expect("setting", shop=shop_id, key=key)
    return [say(_("Type the new value for « {what} »:").format(what=_SETTINGS[key][1]()),
                back=f"st:{shop_id}")]


@answer("setting")
async def save_setting(ctx: Context, text: str) -> list[Reply]:
    waiting = ctx.state.get("answering", {})
    shop_id, key = int(waiting.get("shop", 0)), str(waiting.get("key", ""))
    value: object = text
    if key == "hold_hours":
        value = _whole_number(text)
        if not 1 <= int(str(value)) <= 720:
            raise InvalidInput(_("Between 1 and 720 hours, please."))
    await ctx.services.shops.update_shop(ctx.actor, shop_id, ShopDetails(**{key: value}))
    return await settings(ctx, [str(shop_id)])


@press("so")
async def more_settings(ctx: Context, args: list[str]) -> list[Reply]:
    """Holidays and the shop's photo."""
    shop_id = arg(args, 0, "shop")
    await ctx.services.shops.staff(ctx.actor, shop_id)
    found = await ctx.services.shops.get(shop_id)
    holiday = (_("🟢 Reopen") if found.on_holiday else _("🏖 Close for holidays"))
    rows = [(Button(label=holiday, payload=f"sv:{shop_id}"),
             Button(label=_("📷 Photo"), payload=f"sf:{shop_id}")),
            (Button(label=_("📣 Announcement"), payload=f"an:{shop_id}"),)]
    return [say(f"⚙️ {found.name}", *rows, back=f"st:{shop_id}")]


@command("annonce")
async def announcement_command(ctx: Context, args: list[str]) -> list[Reply]:
    """``/annonce Nouvelle collection d'automne !`` (alone: shows it and asks)."""
    if not ctx.shop_ids:
        raise NotAllowed("announcement command")
    shop_id = await _my_shop(ctx, [])
    if shop_id is None:
        return await dashboard(ctx, [])
    if args:
        return await _save_announcement(ctx, shop_id, " ".join(args))
    return await ask_announcement(ctx, [str(shop_id)])


@press("an")
async def ask_announcement(ctx: Context, args: list[str]) -> list[Reply]:
    """The shop's word in the weekly digest: shown, then typed anew."""
    shop_id = arg(args, 0, "shop")
    await ctx.services.shops.staff(ctx.actor, shop_id)
    found = await ctx.services.shops.get(shop_id)
    now = (_("Your announcement now:\n« {text} »").format(text=found.announcement)
           if found.announcement else _("No announcement at the moment."))
    ctx.expect("announcement", shop=shop_id)
    return [say(now + "\n\n" + _(
        "Type the news for your subscribers' weekly digest (500 characters at most: a new "
        "collection, an event, opening hours for the holidays...), or « - » to remove it."),
        back=f"so:{shop_id}")]


@answer("announcement")
async def announcement_answer(ctx: Context, text: str) -> list[Reply]:
    shop_id = int(ctx.state.get("answering", {}).get("shop", 0))
    return await _save_announcement(ctx, shop_id, text)


async def _save_announcement(ctx: Context, shop_id: int, text: str) -> list[Reply]:
    wanted = "" if text.strip() in ("-", "—") else text
    shop = await ctx.services.shops.set_announcement(ctx.actor, shop_id, wanted)
    told = (_("📣 Saved: subscribers will read it in the next weekly digest.")
            if shop.announcement else _("📣 Announcement removed."))
    return [say(told, back=f"so:{shop_id}")]


@press("sk")
async def ask_hours(ctx: Context, args: list[str]) -> list[Reply]:
    shop_id = arg(args, 0, "shop")
    await ctx.services.shops.staff(ctx.actor, shop_id)
    ctx.expect("hours", shop=shop_id)
    return [say(_("Type your opening hours, days first, e.g.\n"
                  "mar-ven 9h-12h30 14h-19h; sam 9h-12h\n(days not written are closed)"),
                back=f"st:{shop_id}")]


@answer("hours")
async def save_hours(ctx: Context, text: str) -> list[Reply]:
    waiting = ctx.state.get("answering", {})
    shop_id = int(waiting.get("shop", 0))
    intervals = [OpeningInterval(weekday=day, opens=time.fromisoformat(opens),
                                 closes=time.fromisoformat(closes))
                 for day, opens, closes in parse_opening_hours(text)]
    shop = await ctx.services.shops.set_hours(ctx.actor, shop_id, intervals)
    return [say("\n".join([_("🕘 Opening hours saved:"), *opening_hours(shop)]),
                back=f"st:{shop_id}")]


@press("sf")
async def ask_shop_photo(ctx: Context, args: list[str]) -> list[Reply]:
    shop_id = arg(args, 0, "shop")
    await ctx.services.shops.staff(ctx.actor, shop_id)
    ctx.expect("shop_photo", shop=shop_id)
    return [say(_("Send the photo of your shop (the shopfront, the counter...)."),
                back=f"st:{shop_id}")]


@press("sv")
async def toggle_holiday(ctx: Context, args: list[str]) -> list[Reply]:
    shop_id = arg(args, 0, "shop")
    await ctx.services.shops.staff(ctx.actor, shop_id)  # staff only, before asking anything
    found = await ctx.services.shops.get(shop_id)
    if found.on_holiday:
        await ctx.services.shops.set_holiday(ctx.actor, shop_id, False)
        return await settings(ctx, [str(shop_id)])
    ctx.expect("holiday", shop=shop_id)
    return [say(_("A message for customers? (e.g. « Back on 2 January ») Type it, or « - » "
                  "for none."), back=f"st:{shop_id}")]


@answer("holiday")
async def close_for_holidays(ctx: Context, text: str) -> list[Reply]:
    waiting = ctx.state.get("answering", {})
    shop_id = int(waiting.get("shop", 0))
    message = "" if text.strip() in ("-", "—") else clean_description(text, max_length=300)
    await ctx.services.shops.set_holiday(ctx.actor, shop_id, True, message)
    return await settings(ctx, [str(shop_id)])


@press("iv")
async def invite_staff(ctx: Context, args: list[str]) -> list[Reply]:
    """An owner invites someone to help run the shop."""
    shop_id = arg(args, 0, "shop")
    invite = await ctx.services.shops.invite(ctx.actor, shop_id, Role.STAFF)
    return [say(_("Send this to the person you invite: they open the bot and type\n"
                  "/invitation {code}\n(valid 7 days, once).").format(code=invite.code),
                back=f"d:{shop_id}")]


# -- CSV -------------------------------------------------------------------------------


@press("xe")
async def export_menu(ctx: Context, args: list[str]) -> list[Reply]:
    shop_id = arg(args, 0, "shop")
    await ctx.services.shops.staff(ctx.actor, shop_id)
    rows = [(Button(label=_("🛍 Products (CSV)"), payload=f"xp:{shop_id}"),
             Button(label=_("📋 Reservations (CSV)"), payload=f"xr:{shop_id}")),
            (Button(label=_("📄 Import template"), payload=f"xt:{shop_id}"),)]
    return [say(_("Which file? To import products, send a CSV file here (Excel or "
                  "LibreOffice); nothing is changed if a line is wrong."), *rows,
                back=f"d:{shop_id}")]


@press("xp")
async def export_products(ctx: Context, args: list[str]) -> list[Reply]:
    shop_id = arg(args, 0, "shop")
    data = await ctx.services.catalogue.export_products(ctx.actor, shop_id)
    return [say(_("Your products:"), back=f"d:{shop_id}").model_copy(update={
        "document": Document(file_name="produits.csv", data=data)})]


@press("xr")
async def export_reservations(ctx: Context, args: list[str]) -> list[Reply]:
    from chatshop.domain.product_csv import reservations_csv
    shop_id = arg(args, 0, "shop")
    found = await ctx.services.reservations.for_shop(ctx.actor, shop_id, tuple(ReservationStatus))
    names: dict[int, str] = {}
    for each in found:
        person = await ctx.services.customers.get(each.user_id)
        names[each.user_id] = person.display_name if person else ""
    data = reservations_csv(found, names, ctx.tz)
    return [say(_("Your reservations:"), back=f"d:{shop_id}").model_copy(update={
        "document": Document(file_name="reservations.csv", data=data)})]


@press("xt")
async def template(ctx: Context, args: list[str]) -> list[Reply]:
    from chatshop.domain.product_csv import template_csv
    shop_id = arg(args, 0, "shop")
    return [say(_("Fill in this template (one product a line) and send it back here."),
                back=f"d:{shop_id}").model_copy(update={
        "document": Document(file_name="modele-produits.csv", data=template_csv())})]


async def document(ctx: Context, file_name: str, data: bytes) -> list[Reply]:
    """A CSV sent by a shopkeeper: every line is checked first, then all are applied."""
    shop_id = await _my_shop(ctx, [])
    if shop_id is None:
        if not ctx.shop_ids:
            raise NotAllowed("document")
        raise InvalidInput(_("You run several shops: open /boutique first, then send the "
                             "file."))
    report = await ctx.services.catalogue.import_products(ctx.actor, shop_id, data)
    lines = [_("✅ Import done."),
             ngettext("{n} new product", "{n} new products", report.created).format(
                 n=format_number(report.created)),
             ngettext("{n} product updated", "{n} products updated", report.updated).format(
                 n=format_number(report.updated)),
             ngettext("{n} product unchanged", "{n} products unchanged",
                      report.unchanged).format(n=format_number(report.unchanged))]
    return [say("\n".join(lines), (Button(label=_("🛍 Products"), payload=f"dp:{shop_id}:0"),))]


# -- hosting (dépôt) -------------------------------------------------------------------


@press("ho")
async def hosting(ctx: Context, args: list[str]) -> list[Reply]:
    """Agreements with other shops: whose products we display, where ours are displayed."""
    shop_id = arg(args, 0, "shop")
    agreements = await ctx.services.shops.hostings(ctx.actor, shop_id)
    lines = [_("🤝 Hosting (dépôt)")]
    rows: list[tuple[Button, ...]] = []
    for each in agreements:
        here = each.host_shop_id == shop_id
        other = await ctx.services.shops.get(each.maker_shop_id if here else each.host_shop_id)
        if each.status is HostingStatus.PROPOSED and here:
            lines.append(_("• {shop} asks you to display and collect its products.").format(
                shop=other.name))
            rows.append((Button(label=_("✅ Accept {shop}").format(shop=other.name)[:40],
                                payload=f"ha:{shop_id}:{other.id}"),
                         Button(label=_("✖️ Decline"), payload=f"hx:{shop_id}:{other.id}")))
        elif each.status is HostingStatus.PROPOSED:
            lines.append(_("• Waiting for {shop} to answer.").format(shop=other.name))
        elif each.status is HostingStatus.ACCEPTED:
            lines.append((_("• You display the products of {shop}.") if here
                          else _("• {shop} displays your products.")).format(shop=other.name))
            host, maker = (shop_id, other.id) if here else (other.id, shop_id)
            rows.append((Button(label=_("✖️ End with {shop}").format(shop=other.name)[:40],
                                payload=f"hx:{host}:{maker}"),))
    if len(lines) == 1:
        lines.append(_("No agreement yet. Another shop can display and collect your "
                       "products, and you theirs."))
    rows = rows[:4]
    rows.append((Button(label=_("➕ Ask a shop"), payload=f"hq:{shop_id}:0"),))
    return [say("\n".join(lines), *rows, back=f"d:{shop_id}")]


@press("hq")
async def hosting_choose(ctx: Context, args: list[str]) -> list[Reply]:
    """Which shop should display our products?"""
    shop_id, offset = arg(args, 0, "shop"), arg(args, 1)
    await ctx.services.shops.staff(ctx.actor, shop_id)
    page = await ctx.services.shops.browse(offset=offset, limit=PAGE + 1)
    others = [s for s in page.items if s.id != shop_id][:PAGE]
    rows = [(Button(label=f"🏪 {s.name}", payload=f"hr:{shop_id}:{s.id}"),) for s in others]
    more = (Button(label=_("Next ▶️"), payload=f"hq:{shop_id}:{offset + PAGE + 1}"),) \
        if page.has_next else ()
    return [say(_("Which shop should display and collect your products?"), *rows, more,
                back=f"ho:{shop_id}")]


@press("hr")
async def hosting_request(ctx: Context, args: list[str]) -> list[Reply]:
    maker_id, host_id = arg(args, 0, "shop"), arg(args, 1, "shop")
    await ctx.services.shops.ask_hosting(ctx.actor, maker_id, host_id)
    maker, host = await ctx.services.shops.get(maker_id), await ctx.services.shops.get(host_id)
    for person in await ctx.services.shops.people_to_notify(host_id):
        ctx.notify(person, say(
            _("🤝 {maker} asks {host} to display and collect its products.").format(
                maker=maker.name, host=host.name),
            (Button(label=_("✅ Accept"), payload=f"ha:{host_id}:{maker_id}"),
             Button(label=_("✖️ Decline"), payload=f"hx:{host_id}:{maker_id}"))))
    return [say(_("Request sent to {shop}.").format(shop=host.name), back=f"ho:{maker_id}")]


@press("ha")
async def hosting_accept(ctx: Context, args: list[str]) -> list[Reply]:
    host_id, maker_id = arg(args, 0, "shop"), arg(args, 1, "shop")
    await ctx.services.shops.accept_hosting(ctx.actor, host_id, maker_id)
    host = await ctx.services.shops.get(host_id)
    for person in await ctx.services.shops.people_to_notify(maker_id):
        ctx.notify(person, say(_("🤝 {host} accepted to display your products: choose them "
                                 "in your product list (« 📍 Display at… »).").format(
            host=host.name)))
    return await hosting(ctx, [str(host_id)])


@press("hx")
async def hosting_end(ctx: Context, args: list[str]) -> list[Reply]:
    host_id, maker_id = arg(args, 0, "shop"), arg(args, 1, "shop")
    await ctx.services.shops.end_hosting(ctx.actor, host_id, maker_id)
    mine = host_id if host_id in ctx.shop_ids else maker_id
    other = maker_id if mine == host_id else host_id
    for person in await ctx.services.shops.people_to_notify(other):
        ctx.notify(person, say(_("🤝 The hosting agreement between {a} and {b} has ended; "
                                 "the products are back at their maker.").format(
            a=(await ctx.services.shops.get(host_id)).name,
            b=(await ctx.services.shops.get(maker_id)).name)))
    return await hosting(ctx, [str(mine)])


@press("pl")
async def place_choose(ctx: Context, args: list[str]) -> list[Reply]:
    """Where customers collect this product: at home, or at a host shop."""
    product = await _managed(ctx, arg(args, 0, "product"))
    agreements = await ctx.services.shops.hostings(ctx.actor, product.shop_id)
    hosts = [h.host_shop_id for h in agreements
             if h.status is HostingStatus.ACCEPTED and h.maker_shop_id == product.shop_id]
    rows = [(Button(label=_("🏠 At my shop"), payload=f"pla:{product.id}:0"),)]
    for host_id in hosts[:PAGE]:
        host = await ctx.services.shops.get(host_id)
        rows.append((Button(label=f"📍 {host.name}", payload=f"pla:{product.id}:{host_id}"),))
    return [say(_("Where do customers collect « {name} »?").format(name=product.name), *rows,
                back=f"pp:{product.id}")]


@press("pla")
async def place(ctx: Context, args: list[str]) -> list[Reply]:
    product_id, host_id = arg(args, 0, "product"), arg(args, 1)
    product = await ctx.services.catalogue.place(ctx.actor, product_id, host_id or None)
    return [_product_admin(product)]
