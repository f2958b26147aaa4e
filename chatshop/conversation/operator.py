"""What the territory's operator does: open shops and invite their owners, list,
deactivate and reactivate shops, add communes, and see the territory's figures."""

from __future__ import annotations

from chatshop.conversation.context import Context, say
from chatshop.conversation.handlers import answer, arg, command, press
from chatshop.conversation.messages import Button, Reply
from chatshop.domain.models import Role, ShopDetails
from chatshop.errors import NotAllowed
from chatshop.i18n import _, ngettext

PAGE = 5


def _operator_only(ctx: Context) -> None:
    if not ctx.is_operator:
        raise NotAllowed("operator screen", needs="operator")


@press("o")
@command("territoire", "admin")
async def territory(ctx: Context, args: list[str]) -> list[Reply]:
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
    rows = [(Button(label=_("➕ Open a shop"), payload="oc"),
             Button(label=_("🏪 All shops"), payload="ol:0")),
            (Button(label=_("🏘 Add a commune"), payload="om"),
             Button(label=_("📰 Weekly digest"), payload="ow"))]
    return [say("\n".join(lines), *rows)]


@press("om")
async def ask_commune(ctx: Context, args: list[str]) -> list[Reply]:
    _operator_only(ctx)
    ctx.expect("commune")
    return [say(_("Name of the commune (and its postcode), e.g. « Rochechouart 87600 »:"),
                back="o")]


@answer("commune")
async def add_commune(ctx: Context, text: str) -> list[Reply]:
    words = text.split()
    postcode = words.pop() if len(words) > 1 and words[-1].isdigit() else ""
    commune = await ctx.services.shops.add_commune(ctx.actor, " ".join(words), postcode)
    return [say(_("Commune {name} added.").format(name=commune.name),
                (Button(label=_("➕ Open a shop"), payload="oc"),), back="o")]


@press("oc")
async def choose_commune(ctx: Context, args: list[str]) -> list[Reply]:
    _operator_only(ctx)
    communes = await ctx.services.shops.communes()
    if not communes:
        return await ask_commune(ctx, [])
    offset = arg(args, 0) if args else 0
    rows = [(Button(label=c.name, payload=f"on:{c.id}"),)
            for c in communes[offset:offset + PAGE]]
    more = (Button(label=_("Next ▶️"), payload=f"oc:{offset + PAGE}"),) \
        if offset + PAGE < len(communes) else ()
    return [say(_("In which commune is the new shop?"), *rows, more, back="o")]


@press("on")
async def ask_shop_name(ctx: Context, args: list[str]) -> list[Reply]:
    _operator_only(ctx)
    commune = await ctx.services.shops.commune(arg(args, 0, "commune"))
    if commune is None:
        return await choose_commune(ctx, [])
    ctx.expect("shop_name", commune=commune.id)
    return [say(_("Name of the shop in {commune}?").format(commune=commune.name), back="oc")]


@answer("shop_name")
async def open_shop(ctx: Context, text: str) -> list[Reply]:
    """Create the shop and hand over the owner's invitation."""
    waiting = ctx.state.get("answering", {})
    created = await ctx.services.shops.create_shop(ctx.actor, text,
                                                   int(waiting.get("commune", 0)))
    return await _owner_invite(ctx, created.id)


async def _owner_invite(ctx: Context, shop_id: int) -> list[Reply]:
    invite = await ctx.services.shops.invite(ctx.actor, shop_id, Role.OWNER)
    found = await ctx.services.shops.get(shop_id)
    text = _("🏪 {shop} is ready. Send this to its owner: they open the bot and type\n"
             "/invitation {code}\n(valid 7 days, once). Link for the shop: « s_{slug} ».")
    return [say(text.format(shop=found.name, code=invite.code, slug=found.slug),
                (Button(label=_("🏪 All shops"), payload="ol:0"),), back="o")]


@press("ol")
async def all_shops(ctx: Context, args: list[str]) -> list[Reply]:
    _operator_only(ctx)
    offset = arg(args, 0)
    page = await ctx.services.shops.browse_all(ctx.actor, offset=offset, limit=PAGE)
    rows = [(Button(label=("" if s.active else "⛔ ") + s.name, payload=f"os:{s.id}"),)
            for s in page.items]
    paging = []
    if offset > 0:
        paging.append(Button(label=_("◀️ Previous"), payload=f"ol:{max(offset - PAGE, 0)}"))
    if page.has_next:
        paging.append(Button(label=_("Next ▶️"), payload=f"ol:{offset + PAGE}"))
    return [say(ngettext("{n} shop:", "{n} shops:", page.total).format(n=page.total),
                *rows, tuple(paging), back="o",
                edit=offset > 0)]


@press("os")
async def shop_admin(ctx: Context, args: list[str]) -> list[Reply]:
    _operator_only(ctx)
    found = await ctx.services.shops.get(arg(args, 0, "shop"))
    state = _("active") if found.active else _("deactivated")
    rows = [(Button(label=_("⛔ Deactivate") if found.active else _("✅ Reactivate"),
                    payload=f"ot:{found.id}"),
             Button(label=_("✉️ Owner invitation"), payload=f"oi:{found.id}"))]
    return [say(f"🏪 {found.name} — {state}", *rows, back="ol:0")]


@press("ot")
async def toggle_active(ctx: Context, args: list[str]) -> list[Reply]:
    _operator_only(ctx)
    found = await ctx.services.shops.get(arg(args, 0, "shop"))
    await ctx.services.shops.update_shop(ctx.actor, found.id,
                                         ShopDetails(active=not found.active))
    return await shop_admin(ctx, [str(found.id)])


@press("oi")
async def owner_invite(ctx: Context, args: list[str]) -> list[Reply]:
    _operator_only(ctx)
    return await _owner_invite(ctx, arg(args, 0, "shop"))
