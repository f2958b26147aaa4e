"""What shopkeepers type or send rather than tap: ``/stock`` and ``/prix`` by a
product's name, and a captioned photo that adds a product.

A name several products answer to gets one button per product, each doing what was
typed to that one. A photo for a name the shop already has asks first: add the new units
to the stock (at the new price, if the caption gives another one), or create another
product all the same. Buttons that add or take units away change the stock once,
however often they are pressed (they carry the ledger line they were made from).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from pydantic import ValidationError

from chatshop.conversation.context import Context, nonce, say
from chatshop.conversation.handlers import command, handles
from chatshop.conversation.merchant import my_shop
from chatshop.conversation.messages import Button, Reply
from chatshop.conversation.prompts import Draft, ProductPhoto, ShopPhoto
from chatshop.conversation.routes import (
    CREATE_ANYWAY,
    PRICE_CHOSEN,
    PRODUCT_ADMIN,
    SETTINGS,
)
from chatshop.conversation.shop_products import (
    added,
    back_to,
    product_screen,
    see_product_button,
    stock_button,
)
from chatshop.domain.captions import ProductDraft, guess_category, parse_caption
from chatshop.domain.models import Channel, Product, ProductChanges, StockReason
from chatshop.domain.parsing import StockChange, parse_price, parse_stock_change
from chatshop.domain.product_csv import product_key
from chatshop.errors import InvalidInput, NotAllowed, NotFound
from chatshop.i18n import _, format_money, format_number, ngettext

DRAFT = "draft"  # in the state: the captioned photo « Create another product » makes
CHOICES = 5  # products offered for one ambiguous name (with the way on: <= 8 buttons)
TWINS = 3  # products of the same name offered to add a photo's units to
_SIGNS = ("+", "-", "−", "–")


def in_stock(product: Product) -> str:
    """« 8 en stock »."""
    return ngettext("{n} in stock", "{n} in stock", product.on_hand).format(
        n=format_number(product.on_hand))


# -- finding a product by its name -----------------------------------------------------


async def _products(ctx: Context, shop_ids: Sequence[int]) -> list[Product]:
    """Every product these shops make, hidden ones included."""
    return [product for shop_id in shop_ids
            for product in await ctx.services.catalogue.every_product(ctx.actor, shop_id)]


async def _twins(ctx: Context, shop_id: int, name: str) -> list[Product]:
    """The shop's products of that very name (case, accents and spaces aside)."""
    wanted = product_key(name)
    return [p for p in await _products(ctx, [shop_id]) if product_key(p.name) == wanted]


async def matching_products(ctx: Context, name: str) -> list[Product]:
    """This person's products called ``name``, accents and case aside: the exact names
    if any, else those starting with it, else those containing it, else those with a
    word starting with each word typed (« miel chataignier » is « Miel de châtaignier
    500 g »); at least one."""
    wanted = product_key(name)
    candidates = await _products(ctx, ctx.shop_ids)
    exact = [p for p in candidates if product_key(p.name) == wanted]
    starting = [p for p in candidates if product_key(p.name).startswith(wanted)]
    found = (exact or starting or [p for p in candidates if wanted in product_key(p.name)]
             or [p for p in candidates if _has_every_word(product_key(p.name), wanted)])
    if not found:
        raise InvalidInput(_("No product of yours is called « {name} ».").format(name=name))
    return found


def _has_every_word(name: str, wanted: str) -> bool:
    """Whether each word of ``wanted`` begins a word of ``name`` (both folded)."""
    words = name.split()
    return all(any(word.startswith(typed) for word in words) for typed in wanted.split())


async def choose_product(ctx: Context, name: str, found: list[Product],
                  button: Callable[[Product, str], Awaitable[Button]]) -> list[Reply]:
    """« Several products match »: one button per product, each doing what was typed."""
    shops = {p.shop_id for p in found}
    labels: list[str] = []
    rows: list[tuple[Button, ...]] = []
    for product in found[:CHOICES]:
        label = f"{product.name} · {format_money(product.price_cents)} · {in_stock(product)}"
        if len(shops) > 1:
            label += f" · {(await ctx.shop(product.shop_id)).name}"
        labels.append(label)
        if labels.count(label) > 1:  # the same name, price and stock: tell them apart
            label += f" ({labels.count(label)})"
        rows.append((await button(product, label[:64]),))
    text = _("Several products match « {name} ». Which one?").format(name=name)
    if len(found) > CHOICES:
        text += "\n" + ngettext(
            "Here are the first {n}; type more of the name to see the others.",
            "Here are the first {n}; type more of the name to see the others.",
            CHOICES).format(n=CHOICES)
    return [say(text, *rows)]


def _split_last(args: list[str], usage: str) -> tuple[str, str]:
    if len(args) < 2 or not any(ch.isdigit() for ch in args[-1]):
        raise InvalidInput(usage)
    return " ".join(args[:-1]), args[-1]


@command("stock")
async def stock_command(ctx: Context, args: list[str]) -> list[Reply]:
    """``/stock savon lavande 12``: the shelf now holds 12 (``+2``: two more, ``-1``:
    one fewer)."""
    if not ctx.shop_ids and not ctx.is_operator:
        raise NotAllowed("stock command")
    if len(args) >= 3 and args[-2] in _SIGNS:  # « /stock baume + 2 »
        args = [*args[:-2], args[-2] + args[-1]]
    name, count = _split_last(args, _("Type it like this: /stock savon lavande 12 (or +2, "
                                      "or -1)"))
    change = parse_stock_change(count)
    found = await matching_products(ctx, name)
    if len(found) > 1:
        async def button(product: Product, label: str) -> Button:
            seen = await ctx.services.catalogue.last_movement(ctx.actor, product.id)
            return stock_button(label, product, change, seen)
        return await choose_product(ctx, name, found, button)
    updated = await ctx.services.catalogue.change_stock(ctx.actor, found[0].id, change)
    return [product_screen(updated)]


@command("prix")
async def price_command(ctx: Context, args: list[str]) -> list[Reply]:
    """``/prix savon lavande 6,50``."""
    if not ctx.shop_ids and not ctx.is_operator:
        raise NotAllowed("price command")
    if len(args) >= 3 and args[-1] in ("€", "eur", "euros"):
        args = [*args[:-2], args[-2] + " €"]
    name, typed = _split_last(args, _("Type it like this: /prix savon lavande 6,50"))
    price = parse_price(typed)
    found = await matching_products(ctx, name)
    if len(found) > 1:
        async def button(product: Product, label: str) -> Button:
            return PRICE_CHOSEN.button(label, product=product.id, price=price)
        return await choose_product(ctx, name, found, button)
    updated = await ctx.services.catalogue.update_product(
        ctx.actor, found[0].id, ProductChanges(price_cents=price))
    return [product_screen(updated)]


# -- a captioned photo -----------------------------------------------------------------


def _elsewhere(ctx: Context, kept: str | None) -> list[Channel]:
    """The other platforms a kept copy of a photo is for."""
    others: list[Channel] = ["telegram", "whatsapp"]
    return [] if kept is None else [c for c in others if c != ctx.channel]


async def photo(ctx: Context, file_ref: str, caption: str,
                kept: str | None = None) -> list[Reply]:
    """A shopkeeper's photo: with a caption it is a new product (or more of one the shop
    already has); without one it is the photo of the product just added. A kept copy
    (``kept``) is what the other platforms show."""
    shop_id = await my_shop(ctx)
    if (for_shop := ctx.waiting_for(ShopPhoto)) is not None:
        shop = await ctx.services.shops.set_photo(ctx.actor, for_shop.shop, ctx.channel,
                                                  file_ref)
        for other in _elsewhere(ctx, kept):
            await ctx.services.shops.set_photo(ctx.actor, shop.id, other, str(kept))
        ctx.done_waiting()
        return [say(_("📷 Photo of {shop} updated.").format(shop=shop.name),
                    back=SETTINGS.payload(shop=shop.id))]
    if not caption.strip():
        if (for_product := ctx.waiting_for(ProductPhoto)) is not None:
            product = await ctx.services.catalogue.set_photo(
                ctx.actor, for_product.product, ctx.channel, file_ref)
            for other in _elsewhere(ctx, kept):
                await ctx.services.catalogue.set_photo(ctx.actor, product.id, other, str(kept))
            ctx.done_waiting()
            return [say(_("📷 Photo added to « {name} ».").format(name=product.name),
                        (see_product_button(product),))]
        raise InvalidInput(_("Add a caption to the photo, like « Savon lavande 6,50 € x12 »: "
                             "name, price and stock."))
    if shop_id is None:
        raise InvalidInput(_("You run several shops: open /boutique first, then send the "
                             "photo.")) if ctx.shop_ids else NotAllowed("photo")
    draft = parse_caption(caption)
    twins = await _twins(ctx, shop_id, draft.name)
    ctx.done_waiting()
    if twins:
        key = nonce()
        # What « Create another product » makes; ``twins`` says how many there were.
        ctx.state[DRAFT] = Draft(key=key, shop=shop_id, name=draft.name,
                                 price=draft.price_cents, on_hand=draft.on_hand,
                                 photo=file_ref, kept=kept, twins=len(twins)).model_dump()
        return [await _already_there(ctx, draft, twins, CREATE_ANYWAY.button(
            _("🆕 Create another product"), shop=shop_id, key=key))]
    return (await _create(ctx, shop_id, draft, file_ref, kept))[1]


async def _create(ctx: Context, shop_id: int, draft: ProductDraft, file_ref: str,
                  kept: str | None) -> tuple[Product, list[Reply]]:
    category = guess_category(draft.name, await ctx.services.catalogue.categories())
    product = await ctx.services.catalogue.add_product(
        ctx.actor, shop_id, name=draft.name, price_cents=draft.price_cents,
        on_hand=draft.on_hand, category_id=category.id if category else None,
        photo=(ctx.channel, file_ref))
    for other in _elsewhere(ctx, kept):
        product = await ctx.services.catalogue.set_photo(ctx.actor, product.id, other,
                                                         str(kept))
    replies = await added(ctx, product)
    ctx.done_waiting()  # the photo came with it
    return product, replies


async def _already_there(ctx: Context, draft: ProductDraft, twins: list[Product],
                         create: Button) -> Reply:
    """« Savon lavande existe déjà (8 en stock) — ajouter 12 au stock ? »"""
    add = StockChange(StockReason.ADDED, draft.on_hand)
    if len(twins) > 1:
        text = ngettext("{name} already exists {n} time:", "{name} already exists {n} times:",
                        len(twins)).format(name=twins[0].name, n=len(twins))
        text += "".join(f"\n• {format_money(p.price_cents)} · {in_stock(p)}"
                        for p in twins[:TWINS])
        if draft.on_hand:
            text += "\n" + _("Which one gets the {n} new ones?").format(
                n=format_number(draft.on_hand))
        rows: list[tuple[Button, ...]] = []
        for twin in twins[:TWINS]:
            label = f"{format_money(twin.price_cents)} · {in_stock(twin)}"
            if draft.on_hand:
                seen = await ctx.services.catalogue.last_movement(ctx.actor, twin.id)
                rows.append((stock_button(_("➕ {n} to: {product}").format(
                    n=format_number(draft.on_hand), product=label), twin, add, seen),))
            else:
                rows.append((PRODUCT_ADMIN.button(f"🛍 {label}", product=twin.id),))
        return say(text, *rows, (create,))
    (twin,) = twins
    new_price = draft.price_cents != twin.price_cents
    if not draft.on_hand:
        text = _("{name} already exists ({stock}, {price}).").format(
            name=twin.name, stock=in_stock(twin), price=format_money(twin.price_cents))
        first = (PRICE_CHOSEN.button(_("💶 Change to {price}").format(
            price=format_money(draft.price_cents)), product=twin.id, price=draft.price_cents)
            if new_price else see_product_button(twin))
        return say(text, (first,), (create,), back=back_to(twin))
    text = _("{name} already exists ({stock}) — add {n} to its stock?").format(
        name=twin.name, stock=in_stock(twin), n=format_number(draft.on_hand))
    seen = await ctx.services.catalogue.last_movement(ctx.actor, twin.id)
    rows = [(stock_button(_("➕ Add {n}").format(n=format_number(draft.on_hand)), twin, add,
                          seen),)]
    if new_price:
        text += "\n" + _("The photo gives another price: {price} (now {before}).").format(
            price=format_money(draft.price_cents), before=format_money(twin.price_cents))
        rows.append((stock_button(_("➕ Add {n} at {price}").format(
            n=format_number(draft.on_hand), price=format_money(draft.price_cents)),
            twin, add, seen, draft.price_cents),))
    return say(text, *rows, (create,))


@handles(CREATE_ANYWAY)
async def create_anyway(ctx: Context, shop: int, key: str = "") -> list[Reply]:
    """« 🆕 Create another product »: the photo's product, beside the one of that name."""
    await ctx.services.shops.staff(ctx.actor, shop)
    draft = _draft(ctx.state.get(DRAFT))
    if draft is None or not key or draft.key != key or draft.shop != shop:
        raise NotFound("photo draft", key)
    twins = await _twins(ctx, shop, draft.name)
    # Made already (a double tap; or the same press handled again after a restart, when
    # the state saved after the first one was lost): the shop has one more of that name.
    if len(twins) > draft.twins:
        return [product_screen(max(twins, key=lambda p: p.id))]
    return (await _create(ctx, shop, ProductDraft(
        name=draft.name, price_cents=draft.price, on_hand=draft.on_hand, stock_given=True),
        draft.photo, draft.kept))[1]


def _draft(saved: object) -> Draft | None:
    """The draft kept in the state, if it still reads as one."""
    try:
        return Draft.model_validate(saved) if isinstance(saved, dict) else None
    except ValidationError:
        return None
