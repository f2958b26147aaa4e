"""What the territory's operator does: open shops and invite their owners, list,
deactivate and reactivate shops, add communes, and see the territory's figures."""

from __future__ import annotations

from chatshop.conversation.context import Context, pager, say
from chatshop.conversation.handlers import answer, handles
from chatshop.conversation.messages import Button, Reply
from chatshop.conversation.prompts import NewCommune, ShopName
from chatshop.conversation.routes import (
    ALL_SHOPS,
    ASK_COMMUNE,
    ASK_SHOP_NAME,
    CHOOSE_COMMUNE,
    DIGEST_DESK,
    OWNER_INVITE,
    POSTER,
    SHOP_ADMIN,
    TERRITORY,
    TERRITORY_FIGURES,
    TERRITORY_POSTER,
    TOGGLE_ACTIVE,
)
from chatshop.domain.models import Role, ShopDetails
from chatshop.errors import NotAllowed
from chatshop.i18n import _, ngettext

PAGE = 5


def _operator_only(ctx: Context) -> None:
    if not ctx.is_operator:
        raise NotAllowed("operator screen", needs="operator")


@handles(TERRITORY, "territoire", "admin")
async def territory(ctx: Context) -> list[Reply]:
    """The territory's figures and the operator's actions."""
    _operator_only(ctx)
    figures = await ctx.services.shops.figures(ctx.actor, ctx.now)
    lines = [
        _("🛠 {territory}").format(territory=ctx.territory),
        ngettext("{n} active shop", "{n} active shops", figures.active_shops).format(
            n=figures.active_shops) + " · " + ngettext(
            "{n} inactive", "{n} inactive", figures.inactive_shops).format(
            n=figures.inactive_shops) + " · " + ngettext(
            "{n} product on show", "{n} products on show", figures.listed_products).format(
            n=figures.listed_products),
        _("Reservations these 7 days: {made} made, {collected} collected.").format(
            made=figures.reservations_week, collected=figures.collected_week),
    ]
    rows = [(open_shop_button(), all_shops_button()),
            (ASK_COMMUNE.button(_("🏘 Add a commune")),
             DIGEST_DESK.button(_("📰 Weekly digest"))),
            (TERRITORY_POSTER.button(_("🖨 Poster of the territory")),
             TERRITORY_FIGURES.button(_("📊 Territory figures")))]
    return [say("\n".join(lines), *rows)]


def open_shop_button() -> Button:
    return CHOOSE_COMMUNE.button(_("➕ Open a shop"))


def all_shops_button() -> Button:
    return ALL_SHOPS.button(_("🏪 All shops"), offset=0)


@handles(ASK_COMMUNE)
async def ask_commune(ctx: Context) -> list[Reply]:
    """« 🏘 Add a commune »: its name and postcode are typed next."""
    _operator_only(ctx)
    ctx.expect(NewCommune())
    return [say(_("Name of the commune (and its postcode), e.g. « Rochechouart 87600 »:"),
                back=TERRITORY.payload())]


@answer(NewCommune)
async def add_commune(ctx: Context, text: str, waiting: NewCommune) -> list[Reply]:
    """The commune typed (« Rochechouart 87600 »): added to the territory."""
    words = text.split()
    postcode = words.pop() if len(words) > 1 and words[-1].isdigit() else ""
    commune = await ctx.services.shops.add_commune(ctx.actor, " ".join(words), postcode)
    return [say(_("Commune {name} added.").format(name=commune.name),
                (open_shop_button(),), back=TERRITORY.payload())]


@handles(CHOOSE_COMMUNE)
async def choose_commune(ctx: Context, offset: int = 0) -> list[Reply]:
    """« ➕ Open a shop »: in which commune."""
    _operator_only(ctx)
    communes = await ctx.services.shops.communes()
    if not communes:
        return await ask_commune(ctx)
    rows = [(ASK_SHOP_NAME.button(c.name, commune=c.id),)
            for c in communes[offset:offset + PAGE]]
    more = pager(CHOOSE_COMMUNE, offset, PAGE, more=offset + PAGE < len(communes),
                 previous=False)
    return [say(_("In which commune is the new shop?"), *rows, more,
                back=TERRITORY.payload())]


@handles(ASK_SHOP_NAME)
async def ask_shop_name(ctx: Context, commune: int) -> list[Reply]:
    """The commune chosen: the new shop's name is typed next."""
    _operator_only(ctx)
    found = await ctx.services.shops.commune(commune)
    if found is None:
        return await choose_commune(ctx)
    ctx.expect(ShopName(commune=found.id))
    return [say(_("Name of the shop in {commune}?").format(commune=found.name),
                back=CHOOSE_COMMUNE.payload())]


@answer(ShopName)
async def open_shop(ctx: Context, text: str, waiting: ShopName) -> list[Reply]:
    """Create the shop and hand over the owner's invitation."""
    created = await ctx.services.shops.create_shop(ctx.actor, text, waiting.commune)
    return await _owner_invite(ctx, created.id)


async def _owner_invite(ctx: Context, shop_id: int) -> list[Reply]:
    invite = await ctx.services.shops.invite(ctx.actor, shop_id, Role.OWNER)
    found = await ctx.services.shops.get(shop_id)
    text = _("🏪 {shop} is ready. Send this to its owner: they open the bot and type\n"
             "/invitation {code}\n(valid 7 days, once). Link for the shop: « s_{slug} ».")
    return [say(text.format(shop=found.name, code=invite.code, slug=found.slug),
                (all_shops_button(),), back=TERRITORY.payload())]


@handles(ALL_SHOPS)
async def all_shops(ctx: Context, offset: int) -> list[Reply]:
    """Every shop of the territory, deactivated ones too, a page at a time."""
    _operator_only(ctx)
    page = await ctx.services.shops.browse_all(ctx.actor, offset=offset, limit=PAGE)
    rows = [(SHOP_ADMIN.button(("" if s.active else "⛔ ") + s.name, shop=s.id),)
            for s in page.items]
    paging = pager(ALL_SHOPS, offset, PAGE, more=page.has_next)
    return [say(ngettext("{n} shop:", "{n} shops:", page.total).format(n=page.total),
                *rows, paging, back=TERRITORY.payload(), edit=offset > 0)]


@handles(SHOP_ADMIN)
async def shop_admin(ctx: Context, shop: int) -> list[Reply]:
    """One shop as the operator sees it: deactivate or reactivate, invite its owner,
    print its poster."""
    _operator_only(ctx)
    found = await ctx.services.shops.get(shop)
    state = _("active") if found.active else _("deactivated")
    toggle = _("⛔ Deactivate") if found.active else _("✅ Reactivate")
    rows: list[tuple[Button, ...]] = [
        (TOGGLE_ACTIVE.button(toggle, shop=found.id),
         OWNER_INVITE.button(_("✉️ Owner invitation"), shop=found.id))]
    if found.active:  # its poster, printed by the office for a shop that asks
        rows.append((POSTER.button(_("🖨 Poster"), shop=found.id),))
    return [say(f"🏪 {found.name} — {state}", *rows, back=ALL_SHOPS.payload(offset=0))]


@handles(TOGGLE_ACTIVE)
async def toggle_active(ctx: Context, shop: int) -> list[Reply]:
    """A shop deactivated disappears for customers; reactivated, it is back."""
    _operator_only(ctx)
    found = await ctx.services.shops.get(shop)
    await ctx.services.shops.update_shop(ctx.actor, found.id,
                                         ShopDetails(active=not found.active))
    return await shop_admin(ctx, found.id)


@handles(OWNER_INVITE)
async def owner_invite(ctx: Context, shop: int) -> list[Reply]:
    """A new invitation for the shop's owner."""
    _operator_only(ctx)
    return await _owner_invite(ctx, shop)
