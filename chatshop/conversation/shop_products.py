"""A shop's own products as its staff manage them: the list, a product's screen with
its stock and price buttons, hiding and deleting, adding one step by step, and where it
is collected. What is typed by name (``/stock``, ``/prix``) and captioned photos are in
``product_commands``.
"""

from __future__ import annotations

from chatshop.conversation.cards import availability, sold_out_mark
from chatshop.conversation.context import Context, pager, say
from chatshop.conversation.handlers import Takes, answer, handles
from chatshop.conversation.merchant import PAGE, dashboard, my_shop, reservations_button
from chatshop.conversation.messages import Button, Reply
from chatshop.conversation.prompts import NewName, NewPrice, NewStock, Price, ProductPhoto, Stock
from chatshop.conversation.routes import (
    ADD_PRODUCT,
    ASK_PRICE,
    ASK_STOCK,
    DASHBOARD,
    DELETE,
    DELETE_ASK,
    PHONE_ASK,
    PLACE,
    PLACE_CHOOSE,
    PRICE_CHOSEN,
    PRODUCT_ADMIN,
    PRODUCT_LIST,
    PRODUCT_MORE,
    SELL_ASK,
    SET_CATEGORY,
    STOCK_ADD_ONCE,
    STOCK_MINUS,
    STOCK_PLUS,
    STOCK_REMOVE_ONCE,
    STOCK_SET_ONCE,
    TOGGLE_HIDDEN,
)
from chatshop.domain.limits import MAX_PRICE_CENTS
from chatshop.domain.models import HostingStatus, Product, ProductChanges, StockReason
from chatshop.domain.parsing import (
    StockChange,
    check_quantity,
    clean_name,
    parse_price,
    parse_whole_number,
    stock_count,
)
from chatshop.errors import NotAllowed, NotFound, StockChanged
from chatshop.i18n import _, format_money, format_number, ngettext


def typed_stock(text: str) -> int:
    """A stock typed by a shopkeeper (« 12 », « 1 200 »): a whole number from 0 to the
    limit, refused with that range otherwise."""
    return stock_count(parse_whole_number(text))


@handles(PRODUCT_LIST, "produits")
async def product_list(ctx: Context, shop: int | None = None, offset: int = 0
                       ) -> list[Reply]:
    """The shop's own products, hidden ones included, a page at a time."""
    shop_id = await my_shop(ctx, shop)
    if shop_id is None:
        return await dashboard(ctx)
    page = await ctx.services.catalogue.maker_products(ctx.actor, shop_id, offset=offset,
                                                       limit=PAGE)
    if not page.items:
        return [say(_("No product yet. Send a photo captioned « Savon lavande 6,50 € x12 », "
                      "or tap « Add a product »."),
                    (ADD_PRODUCT.button(_("➕ Add a product"), shop=shop_id),),
                    back=DASHBOARD.payload(shop=shop_id))]
    rows = [(PRODUCT_ADMIN.button(_stock_label(p), product=p.id),) for p in page.items]
    paging = pager(PRODUCT_LIST, offset, PAGE, more=offset + PAGE < page.total, shop=shop_id)
    return [say(ngettext("{n} product:", "{n} products:", page.total).format(
                    n=format_number(page.total)),
                *rows, paging, back=DASHBOARD.payload(shop=shop_id), edit=offset > 0)]


def _stock_label(product: Product) -> str:
    hidden = "🙈 " if product.hidden else ""
    return (f"{hidden}{product.name} · {format_money(product.price_cents)} · "
            f"{format_number(product.on_hand)}{sold_out_mark(product)}")[:64]


def typed_quantity(text: str) -> int:
    """A quantity typed by the staff (sold, reserved by phone): 1 to 999, else refused
    with that range."""
    return check_quantity(parse_whole_number(text))


def product_screen(product: Product, news: str = "", waiting: int = 0) -> Reply:
    """A product as its shop manages it (``news``: what was just done, on top;
    ``waiting``: the people asking to be told when it is back)."""
    lines = [news] if news else []
    lines += [f"🛍 {product.name} — {format_money(product.price_cents)}",
              _("Stock: {on_hand} on the shelf, {reserved} reserved, {available} available "
                "({label}).").format(on_hand=format_number(product.on_hand),
                                     reserved=format_number(product.reserved),
                                     available=format_number(product.available),
                                     label=availability(product))]
    if product.hidden:
        lines.append(_("🙈 Hidden: customers do not see it."))
    if waiting > 0:
        lines.append(ngettext("🔔 {n} person is waiting for this product",
                              "🔔 {n} people are waiting for this product", waiting).format(
            n=format_number(waiting)))
    # Six buttons, « Retour » and « Menu »: price, hiding, place and deletion are under
    # « Plus… » (#12: room for the phone and the counter).
    rows = [
        (STOCK_MINUS.button("➖ 1", product=product.id),
         STOCK_PLUS.button("➕ 1", product=product.id)),
        (ASK_STOCK.button(_("🔢 Stock…"), product=product.id),
         PRODUCT_MORE.button(_("More…"), product=product.id)),
        (PHONE_ASK.button(_("📞 By phone"), product=product.id),
         SELL_ASK.button(_("🧾 Sold in the shop"), product=product.id)),
    ]
    return say("\n".join(lines), *rows,
               back=PRODUCT_LIST.payload(shop=product.shop_id, offset=0))


def back_to(product: Product | int) -> str:
    """The « Retour » to a product's screen."""
    return PRODUCT_ADMIN.payload(product=product if isinstance(product, int) else product.id)


def see_product_button(product: Product) -> Button:
    return PRODUCT_ADMIN.button(_("🛍 See the product"), product=product.id)


@handles(PRODUCT_ADMIN)
async def product_admin(ctx: Context, product: int) -> list[Reply]:
    """One of the shop's products: its stock and price, and the buttons to change them."""
    found = await managed(ctx, product)
    return [product_screen(found, waiting=await ctx.services.alerts.waiting_count(
        ctx.actor, found.id))]


async def managed(ctx: Context, product_id: int) -> Product:
    """A product this person's shop makes (or any, for the operator), else refused."""
    product = await ctx.services.catalogue.product(product_id)
    if product.shop_id not in ctx.shop_ids and not ctx.is_operator:
        raise NotAllowed(f"product {product_id}")
    return product


@handles(PRODUCT_MORE)
async def product_more(ctx: Context, product: int) -> list[Reply]:
    """What is done less often with a product: its price, hiding it, where it is
    collected, deleting it."""
    found = await managed(ctx, product)
    return [say(f"🛍 {found.name} — {format_money(found.price_cents)}",
                (ASK_PRICE.button(_("💶 Price…"), product=found.id),
                 TOGGLE_HIDDEN.button(_("👁 Show") if found.hidden else _("🙈 Hide"),
                                      product=found.id)),
                (PLACE_CHOOSE.button(_("📍 Display at…"), product=found.id),
                 DELETE_ASK.button(_("🗑 Delete"), product=found.id)),
                back=back_to(found))]


@handles(DELETE_ASK)
async def delete_ask(ctx: Context, product: int) -> list[Reply]:
    """Deleting cannot be undone: ask once more."""
    return [_delete_question(await managed(ctx, product))]


def _delete_question(product: Product) -> Reply:
    hide = TOGGLE_HIDDEN.button(_("🙈 Hide"), product=product.id)
    if product.reserved:
        return say(ngettext(
            "« {name} » is still reserved ({n}). Mark the reservation « collected » or "
            "cancel it, then delete the product. Meanwhile you can hide it.",
            "« {name} » is still reserved ({n}). Mark the reservations « collected » or "
            "cancel them, then delete the product. Meanwhile you can hide it.",
            product.reserved).format(name=product.name, n=format_number(product.reserved)),
            (hide, reservations_button(product.shop_id)), back=back_to(product))
    return say(_("Delete « {name} » for good? It leaves your list, the search and "
                 "customers' baskets; past reservations keep its name. To take it off "
                 "sale for a while, hide it instead.").format(name=product.name),
               (DELETE.button(_("🗑 Yes, delete"), product=product.id),
                TOGGLE_HIDDEN.button(_("🙈 Hide instead"), product=product.id)),
               back=back_to(product))


@handles(DELETE)
async def delete(ctx: Context, product: int) -> list[Reply]:
    """« 🗑 Yes, delete »: gone from the list, the search and the baskets."""
    gone = await ctx.services.catalogue.delete_product(ctx.actor, product)
    listing = await product_list(ctx, gone.shop_id, 0)
    told = _("🗑 « {name} » is deleted.").format(name=gone.name)
    return [listing[0].model_copy(update={"text": told + "\n\n" + listing[0].text})]


@handles(STOCK_PLUS)
async def stock_plus(ctx: Context, product: int) -> list[Reply]:
    """« ➕ 1 »: one more on the shelf (the screen changes in place)."""
    changed = await ctx.services.catalogue.add_stock(ctx.actor, product, 1)
    return [product_screen(changed).model_copy(update={"edit": True})]


@handles(STOCK_MINUS)
async def stock_minus(ctx: Context, product: int) -> list[Reply]:
    """« ➖ 1 »: one fewer on the shelf (the screen changes in place)."""
    changed = await ctx.services.catalogue.remove_stock(ctx.actor, product, 1)
    return [product_screen(changed).model_copy(update={"edit": True})]


@handles(TOGGLE_HIDDEN)
async def toggle_hidden(ctx: Context, product: int) -> list[Reply]:
    """« 🙈 Hide » / « 👁 Show »: customers stop (or start again) seeing it."""
    current = await managed(ctx, product)
    changed = await ctx.services.catalogue.update_product(
        ctx.actor, current.id, ProductChanges(hidden=not current.hidden))
    return [product_screen(changed).model_copy(update={"edit": True})]


@handles(ASK_STOCK)
async def ask_stock(ctx: Context, product: int) -> list[Reply]:
    """« 🔢 Stock… »: the count on the shelf is typed next."""
    found = await managed(ctx, product)
    ctx.expect(Stock(product=found.id))
    return [say(_("How many « {name} » are on the shelf now? Type a number.").format(
        name=found.name), back=back_to(found))]


@answer(Stock, Takes.NUMBER)
async def set_stock(ctx: Context, text: str, waiting: Stock) -> list[Reply]:
    """The count typed after « 🔢 Stock… »: what is on the shelf now."""
    product = await ctx.services.catalogue.change_stock(
        ctx.actor, waiting.product, StockChange(StockReason.SET, typed_stock(text)))
    return [product_screen(product)]


# Buttons that change a stock once, however often they are pressed: they carry the last
# line of the product's stock ledger they were made from (see CatalogueService.change_stock).
_ONCE = {StockReason.ADDED: STOCK_ADD_ONCE, StockReason.REMOVED: STOCK_REMOVE_ONCE,
         StockReason.SET: STOCK_SET_ONCE}


def stock_button(label: str, product: Product, change: StockChange, seen: int,
                 price_cents: int | None = None) -> Button:
    """``label`` doing ``change`` to ``product`` once (and setting its price, if given)."""
    return _ONCE[change.reason].button(label, product=product.id, quantity=change.quantity,
                                       seen=seen, price=price_cents)


def _price(cents: int) -> int:
    """A price in cents from a button (a forged one out of range is not found)."""
    if not 0 < cents <= MAX_PRICE_CENTS:
        raise NotFound("price", cents)
    return cents


async def _change_once(ctx: Context, reason: StockReason, product_id: int, quantity: int,
                       seen: int, price_cents: int | None) -> list[Reply]:
    price = None if price_cents is None else _price(price_cents)
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


@handles(STOCK_ADD_ONCE)
async def stock_add_once(ctx: Context, product: int, quantity: int, seen: int,
                         price: int | None = None) -> list[Reply]:
    """« ➕ Add 12 »: a photo for a product already there, or one of several names."""
    return await _change_once(ctx, StockReason.ADDED, product, quantity, seen, price)


@handles(STOCK_REMOVE_ONCE)
async def stock_remove_once(ctx: Context, product: int, quantity: int, seen: int,
                            price: int | None = None) -> list[Reply]:
    """« /stock baume -1 » when several products are called « baume »: the one chosen."""
    return await _change_once(ctx, StockReason.REMOVED, product, quantity, seen, price)


@handles(STOCK_SET_ONCE)
async def stock_set_once(ctx: Context, product: int, quantity: int, seen: int,
                         price: int | None = None) -> list[Reply]:
    """« /stock baume 3 » when several products are called « baume »: the one chosen."""
    return await _change_once(ctx, StockReason.SET, product, quantity, seen, price)


@handles(PRICE_CHOSEN)
async def price_chosen(ctx: Context, product: int, price: int) -> list[Reply]:
    """« /prix baume 6,50 » when several products are called « baume », or a photo giving
    a product already there a new price: the price of the one chosen."""
    changed = await ctx.services.catalogue.update_product(
        ctx.actor, product, ProductChanges(price_cents=_price(price)))
    return [product_screen(changed, _("💶 New price: {price}.").format(
        price=format_money(changed.price_cents)))]


@handles(ASK_PRICE)
async def ask_price(ctx: Context, product: int) -> list[Reply]:
    """« 💶 Price… »: the new price is typed next."""
    found = await managed(ctx, product)
    ctx.expect(Price(product=found.id))
    return [say(_("New price of « {name} »? Type it like 6,50.").format(name=found.name),
                back=back_to(found))]


@answer(Price, Takes.NUMBER)
async def set_price(ctx: Context, text: str, waiting: Price) -> list[Reply]:
    """The price typed after « 💶 Price… »."""
    product = await ctx.services.catalogue.update_product(
        ctx.actor, waiting.product, ProductChanges(price_cents=parse_price(text)))
    return [product_screen(product)]


# -- adding products -------------------------------------------------------------------


@handles(ADD_PRODUCT, "ajouter")
async def add_start(ctx: Context, shop: int | None = None) -> list[Reply]:
    """Step by step: name, price, stock (then a photo if they like)."""
    shop_id = await my_shop(ctx, shop)
    if shop_id is None:
        return await dashboard(ctx)
    await ctx.services.shops.staff(ctx.actor, shop_id)  # staff only, before asking anything
    ctx.expect(NewName(shop=shop_id))
    return [say(_("Name of the new product? (80 characters at most)\n"
                  "Tip: a photo captioned « Savon lavande 6,50 € x12 » does it all at "
                  "once."), back=DASHBOARD.payload(shop=shop_id))]


@answer(NewName)
async def add_name(ctx: Context, text: str, waiting: NewName) -> list[Reply]:
    """The new product's name; its price next."""
    ctx.expect(NewPrice(shop=waiting.shop, name=clean_name(text)))
    return [say(_("Price? Type it like 6,50."))]


@answer(NewPrice, Takes.NUMBER)
async def add_price(ctx: Context, text: str, waiting: NewPrice) -> list[Reply]:
    """The new product's price; its stock next."""
    ctx.expect(NewStock(shop=waiting.shop, name=waiting.name, price=parse_price(text)))
    return [say(_("How many do you have? Type a number (0 if none yet)."))]


@answer(NewStock, Takes.NUMBER)
async def add_stock(ctx: Context, text: str, waiting: NewStock) -> list[Reply]:
    """The new product's stock: it is created."""
    product = await ctx.services.catalogue.add_product(
        ctx.actor, waiting.shop, name=waiting.name, price_cents=waiting.price,
        on_hand=typed_stock(text))
    return await added(ctx, product)


async def added(ctx: Context, product: Product) -> list[Reply]:
    """After a product is created: ask its category if needed, offer a photo."""
    ctx.expect(ProductPhoto(product=product.id))
    text = _("✅ « {name} » is in your catalogue: {price}, {n} in stock.").format(
        name=product.name, price=format_money(product.price_cents),
        n=format_number(product.on_hand))
    if product.category_id is None:
        categories = await ctx.services.catalogue.categories()
        rows = [(SET_CATEGORY.button(c.name, product=product.id, category=c.id),)
                for c in categories[:6]]
        return [say(text + "\n" + _("Which category? (You can also send its photo now.)"),
                    *rows, back=back_to(product))]
    return [say(text + "\n" + _("Send its photo now if you like."),
                (see_product_button(product),))]


@handles(SET_CATEGORY)
async def set_category(ctx: Context, product: int, category: int) -> list[Reply]:
    """The category chosen for a product just added."""
    changed = await ctx.services.catalogue.update_product(
        ctx.actor, product, ProductChanges(category_id=category))
    return [product_screen(changed)]


@handles(PLACE_CHOOSE)
async def place_choose(ctx: Context, product: int) -> list[Reply]:
    """Where customers collect this product: at home, or at a host shop."""
    return await _places(ctx, await managed(ctx, product))


async def _places(ctx: Context, product: Product) -> list[Reply]:
    agreements = await ctx.services.shops.hostings(ctx.actor, product.shop_id)
    hosts = [h.host_shop_id for h in agreements
             if h.status is HostingStatus.ACCEPTED and h.maker_shop_id == product.shop_id]
    rows = [(PLACE.button(_("🏠 At my shop"), product=product.id, host=0),)]
    for host_id in hosts[:PAGE]:
        host = await ctx.services.shops.get(host_id)
        rows.append((PLACE.button(f"📍 {host.name}", product=product.id, host=host_id),))
    return [say(_("Where do customers collect « {name} »?").format(name=product.name), *rows,
                back=back_to(product))]


@handles(PLACE)
async def place(ctx: Context, product: int, host: int) -> list[Reply]:
    """The place chosen: customers collect the product there from now on."""
    changed = await ctx.services.catalogue.place(ctx.actor, product, host or None)
    return [product_screen(changed)]
