"""A shop's own products as its staff manage them: the list, a product's screen with
its stock and price buttons, hiding and deleting, adding one step by step, and where it
is collected. What is typed by name (``/stock``, ``/prix``) and captioned photos are in
``product_commands``.
"""

from __future__ import annotations

from chatshop.conversation.cards import availability, sold_out_mark
from chatshop.conversation.context import Context, say
from chatshop.conversation.handlers import Takes, answer, arg, command, press
from chatshop.conversation.merchant import PAGE, dashboard, my_shop
from chatshop.conversation.messages import Button, Reply
from chatshop.domain.limits import MAX_PRICE_CENTS
from chatshop.domain.models import HostingStatus, Product, ProductChanges, StockReason
from chatshop.domain.parsing import (
    StockChange,
    parse_price,
    parse_whole_number,
)
from chatshop.errors import NotAllowed, NotFound, StockChanged
from chatshop.i18n import _, format_money, format_number, ngettext


@press("dp")
@command("produits")
async def product_list(ctx: Context, args: list[str]) -> list[Reply]:
    """The shop's own products, hidden ones included, a page at a time."""
    shop_id = await my_shop(ctx, args[:1])
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
    return [say(ngettext("{n} product:", "{n} products:", page.total).format(
                    n=format_number(page.total)),
                *rows, tuple(paging), back=f"d:{shop_id}", edit=offset > 0)]


def _stock_label(product: Product) -> str:
    hidden = "🙈 " if product.hidden else ""
    return (f"{hidden}{product.name} · {format_money(product.price_cents)} · "
            f"{format_number(product.on_hand)}{sold_out_mark(product)}")[:64]


def product_screen(product: Product, news: str = "") -> Reply:
    """A product as its shop manages it (``news``: what was just done, on top)."""
    lines = [news] if news else []
    lines += [f"🛍 {product.name} — {format_money(product.price_cents)}",
              _("Stock: {on_hand} on the shelf, {reserved} reserved, {available} available "
                "({label}).").format(on_hand=format_number(product.on_hand),
                                     reserved=format_number(product.reserved),
                                     available=format_number(product.available),
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
    """One of the shop's products: its stock and price, and the buttons to change them."""
    product = await managed(ctx, arg(args, 0, "product"))
    return [product_screen(product)]


async def managed(ctx: Context, product_id: int) -> Product:
    """A product this person's shop makes (or any, for the operator), else refused."""
    product = await ctx.services.catalogue.product(product_id)
    if product.shop_id not in ctx.shop_ids and not ctx.is_operator:
        raise NotAllowed(f"product {product_id}")
    return product


@press("pm")
async def product_more(ctx: Context, args: list[str]) -> list[Reply]:
    """What is done less often with a product: where it is collected, deleting it."""
    product = await managed(ctx, arg(args, 0, "product"))
    return [say(f"🛍 {product.name}",
                (Button(label=_("📍 Display at…"), payload=f"pl:{product.id}"),
                 Button(label=_("🗑 Delete"), payload=f"pd:{product.id}")),
                back=f"pp:{product.id}")]


@press("pd")
async def delete_ask(ctx: Context, args: list[str]) -> list[Reply]:
    """Deleting cannot be undone: ask once more."""
    product = await managed(ctx, arg(args, 0, "product"))
    if product.reserved:
        return [say(ngettext(
            "« {name} » is still reserved ({n}). Mark the reservation « collected » or "
            "cancel it, then delete the product. Meanwhile you can hide it.",
            "« {name} » is still reserved ({n}). Mark the reservations « collected » or "
            "cancel them, then delete the product. Meanwhile you can hide it.",
            product.reserved).format(name=product.name, n=format_number(product.reserved)),
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
    return [product_screen(product).model_copy(update={"edit": True})]


@press("s-")
async def stock_minus(ctx: Context, args: list[str]) -> list[Reply]:
    product = await ctx.services.catalogue.remove_stock(ctx.actor, arg(args, 0, "product"), 1)
    return [product_screen(product).model_copy(update={"edit": True})]


@press("sh")
async def toggle_hidden(ctx: Context, args: list[str]) -> list[Reply]:
    current = await managed(ctx, arg(args, 0, "product"))
    product = await ctx.services.catalogue.update_product(
        ctx.actor, current.id, ProductChanges(hidden=not current.hidden))
    return [product_screen(product).model_copy(update={"edit": True})]


@press("ss")
async def ask_stock(ctx: Context, args: list[str]) -> list[Reply]:
    product = await managed(ctx, arg(args, 0, "product"))
    ctx.expect("stock", product=product.id)
    return [say(_("How many « {name} » are on the shelf now? Type a number.").format(
        name=product.name), back=f"pp:{product.id}")]


@answer("stock", Takes.NUMBER)
async def set_stock(ctx: Context, text: str) -> list[Reply]:
    """The count typed after « 🔢 Stock… »: what is on the shelf now."""
    waiting = ctx.state.get("answering", {})
    product = await ctx.services.catalogue.change_stock(
        ctx.actor, int(waiting.get("product", 0)),
        StockChange(StockReason.SET, parse_whole_number(text)))
    return [product_screen(product)]


# Buttons that change a stock once, however often they are pressed: they carry the last
# line of the product's stock ledger they were made from (see CatalogueService.change_stock).
_ONCE = {"sa": StockReason.ADDED, "sr": StockReason.REMOVED, "sn": StockReason.SET}


def stock_button(label: str, product: Product, change: StockChange, seen: int,
                 price_cents: int | None = None) -> Button:
    """``label`` doing ``change`` to ``product`` once (and setting its price, if given)."""
    verb = next(verb for verb, reason in _ONCE.items() if reason is change.reason)
    price = "" if price_cents is None else f":{price_cents}"
    return Button(label=label, payload=f"{verb}:{product.id}:{change.quantity}:{seen}{price}")


def _price(args: list[str], index: int) -> int:
    """A price in cents from a button (a forged one out of range is not found)."""
    cents = arg(args, index, "price")
    if not 0 < cents <= MAX_PRICE_CENTS:
        raise NotFound("price", cents)
    return cents


async def _change_once(ctx: Context, reason: StockReason, args: list[str]) -> list[Reply]:
    product_id, quantity, seen = arg(args, 0, "product"), arg(args, 1), arg(args, 2)
    price = _price(args, 3) if len(args) > 3 else None
    try:
        product = await ctx.services.catalogue.change_stock(
            ctx.actor, product_id, StockChange(reason, quantity), seen=seen)
    except StockChanged as moved:
        return [product_screen(await managed(ctx, product_id), "⚠️ " + moved.message())]
    news = _("✅ {n} in stock now.").format(n=format_number(product.on_hand))
    if price is not None and price != product.price_cents:
        before = product.price_cents
        product = await ctx.services.catalogue.update_product(
            ctx.actor, product_id, ProductChanges(price_cents=price))
        news += "\n" + _("💶 New price: {price} (it was {before}).").format(
            price=format_money(product.price_cents), before=format_money(before))
    return [product_screen(product, news)]


@press("sa")
async def stock_add_once(ctx: Context, args: list[str]) -> list[Reply]:
    """« ➕ Add 12 »: a photo for a product already there, or one of several names."""
    return await _change_once(ctx, StockReason.ADDED, args)


@press("sr")
async def stock_remove_once(ctx: Context, args: list[str]) -> list[Reply]:
    """« /stock baume -1 » when several products are called « baume »: the one chosen."""
    return await _change_once(ctx, StockReason.REMOVED, args)


@press("sn")
async def stock_set_once(ctx: Context, args: list[str]) -> list[Reply]:
    """« /stock baume 3 » when several products are called « baume »: the one chosen."""
    return await _change_once(ctx, StockReason.SET, args)


@press("px")
async def price_chosen(ctx: Context, args: list[str]) -> list[Reply]:
    """« /prix baume 6,50 » when several products are called « baume », or a photo giving
    a product already there a new price: the price of the one chosen."""
    product = await ctx.services.catalogue.update_product(
        ctx.actor, arg(args, 0, "product"), ProductChanges(price_cents=_price(args, 1)))
    return [product_screen(product, _("💶 New price: {price}.").format(
        price=format_money(product.price_cents)))]


@press("sp")
async def ask_price(ctx: Context, args: list[str]) -> list[Reply]:
    product = await managed(ctx, arg(args, 0, "product"))
    ctx.expect("price", product=product.id)
    return [say(_("New price of « {name} »? Type it like 6,50.").format(name=product.name),
                back=f"pp:{product.id}")]


@answer("price", Takes.NUMBER)
async def set_price(ctx: Context, text: str) -> list[Reply]:
    waiting = ctx.state.get("answering", {})
    product = await ctx.services.catalogue.update_product(
        ctx.actor, int(waiting.get("product", 0)), ProductChanges(price_cents=parse_price(text)))
    return [product_screen(product)]



# -- adding products -------------------------------------------------------------------


@press("da")
@command("ajouter")
async def add_start(ctx: Context, args: list[str]) -> list[Reply]:
    """Step by step: name, price, stock (then a photo if they like)."""
    shop_id = await my_shop(ctx, args)
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


@answer("new_price", Takes.NUMBER)
async def add_price(ctx: Context, text: str) -> list[Reply]:
    waiting = ctx.state.get("answering", {})
    ctx.expect("new_stock", shop=waiting.get("shop"), name=waiting.get("name"),
               price=parse_price(text))
    return [say(_("How many do you have? Type a number (0 if none yet)."))]


@answer("new_stock", Takes.NUMBER)
async def add_stock(ctx: Context, text: str) -> list[Reply]:
    waiting = ctx.state.get("answering", {})
    product = await ctx.services.catalogue.add_product(
        ctx.actor, int(waiting.get("shop", 0)), name=str(waiting.get("name", "")),
        price_cents=int(waiting.get("price", 0)), on_hand=parse_whole_number(text))
    return await added(ctx, product)


async def added(ctx: Context, product: Product) -> list[Reply]:
    """After a product is created: ask its category if needed, offer a photo."""
    ctx.expect("photo", product=product.id)
    text = _("✅ « {name} » is in your catalogue: {price}, {n} in stock.").format(
        name=product.name, price=format_money(product.price_cents),
        n=format_number(product.on_hand))
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
    return [product_screen(product)]



@press("pl")
async def place_choose(ctx: Context, args: list[str]) -> list[Reply]:
    """Where customers collect this product: at home, or at a host shop."""
    product = await managed(ctx, arg(args, 0, "product"))
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
    return [product_screen(product)]
