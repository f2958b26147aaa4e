"""The customer's baskets, one per pickup shop: changing a line, reserving one shop's
basket, and, when a product fell short meanwhile, reserving what is left."""

from __future__ import annotations

from chatshop.conversation.cards import basket_text
from chatshop.conversation.context import Context, nonce, say
from chatshop.conversation.customer import confirmation, see_basket_button, shops_button, untold
from chatshop.conversation.handlers import handles
from chatshop.conversation.messages import MAX_PAYLOAD_BYTES, Button, Reply
from chatshop.conversation.routes import BASKET, BASKET_QUANTITY, CONFIRM_BASKET, RESERVE_LEFT
from chatshop.errors import NotFound, OutOfStock
from chatshop.i18n import _, format_number
from chatshop.services.reservations import Placed


@handles(BASKET, "panier")
async def basket(ctx: Context) -> list[Reply]:
    """The baskets (one per shop), each with its reserve button."""
    baskets = await ctx.services.baskets.baskets(ctx.user.id)
    if not baskets:
        return [say(_("Your basket is empty. Type what you are looking for, or browse "
                      "the shops."), (shops_button(),))]
    replies = []
    for each in baskets:
        pickup = await ctx.shop(each.shop_id)
        rows: list[tuple[Button, ...]] = [(CONFIRM_BASKET.button(
            _("✅ Reserve at {shop}").format(shop=pickup.name)[:60], shop=pickup.id,
            nonce=nonce()),)]
        rows += [(BASKET_QUANTITY.button(f"➖ {line.product.name}"[:40],
                                         product=line.product.id, quantity=line.quantity - 1),
                  BASKET_QUANTITY.button("➕", product=line.product.id,
                                         quantity=line.quantity + 1))
                 for line in each.lines[:3]]
        replies.append(say(basket_text(each, pickup.name), *rows))
    return replies


@handles(BASKET_QUANTITY)
async def basket_quantity(ctx: Context, product: int, quantity: int) -> list[Reply]:
    """➖ / ➕ on a basket line; past what is left, the basket says so and stays as it is."""
    try:
        await ctx.services.baskets.set_quantity(ctx.user.id, product, quantity)
    except OutOfStock as short:
        shown = await basket(ctx)
        return [shown[0].model_copy(update={"text": short.message() + "\n\n" + shown[0].text}),
                *shown[1:]]
    return await basket(ctx)


@handles(CONFIRM_BASKET)
async def confirm_basket(ctx: Context, shop: int, nonce: str | None = None) -> list[Reply]:
    """Reserve one shop's basket; the button's nonce is the idempotency key."""
    key = CONFIRM_BASKET.payload(shop=shop, nonce=nonce)
    try:
        placed = await ctx.services.reservations.place_basket(ctx.user.id, key, shop)
    except OutOfStock as short:
        return [await _what_is_left(ctx, shop, short)]
    return await _confirmations(ctx, placed)


async def _confirmations(ctx: Context, placed: Placed) -> list[Reply]:
    return [await confirmation(ctx, each, tell_shop=await untold(ctx, each, placed.replayed))
            for each in placed.reservations]


async def _what_is_left(ctx: Context, shop_id: int, short: OutOfStock) -> Reply:
    """A basket that fell short: what is missing, and a button reserving what is left
    (each short line cut to what is available now, as the button says)."""
    mine = next((b for b in await ctx.services.baskets.baskets(ctx.user.id)
                 if b.shop_id == shop_id), None)
    lines = [short.message()]
    shelf = [] if mine is None else list(mine.lines)
    cut = {line.product.id: max(line.product.available, 0) for line in shelf
           if line.quantity > line.product.available}
    left = [(n, line.product.name) for line in shelf
            if (n := min(line.quantity, cut.get(line.product.id, line.quantity))) > 0]
    payload = RESERVE_LEFT.payload(shop=shop_id, nonce=nonce(),
                                   cuts=tuple(n for pair in cut.items() for n in pair))
    if not left or len(payload.encode()) > MAX_PAYLOAD_BYTES:
        return say("\n".join(lines), (see_basket_button(),))
    lines.append(_("Reserve what is left?"))
    lines += [f"• {format_number(n)} × {name}" for n, name in left]
    total = sum(n for n, _name in left)
    return say("\n".join(lines), (Button(label=_("✅ Reserve {n}").format(n=format_number(total)),
                                         payload=payload),))


@handles(RESERVE_LEFT)
async def reserve_what_is_left(ctx: Context, shop: int, nonce: str | None = None,
                               cuts: tuple[int, ...] = ()) -> list[Reply]:
    """« ✅ Reserve 1 »: the basket, its short lines cut to what the button says; its
    nonce is the idempotency key, as for « Reserve at … »."""
    if len(cuts) % 2:
        raise NotFound("basket line", cuts[-1])
    at_most = dict(zip(cuts[::2], cuts[1::2], strict=True))
    key = RESERVE_LEFT.payload(shop=shop, nonce=nonce, cuts=cuts)
    try:
        placed = await ctx.services.reservations.place_basket(ctx.user.id, key, shop,
                                                              at_most=at_most)
    except OutOfStock as short:  # it fell again: what is left now
        return [await _what_is_left(ctx, shop, short)]
    return await _confirmations(ctx, placed)
