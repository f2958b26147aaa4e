"""The shop's card as its staff keep it: address, phone, description, how to collect,
how long reservations are held, opening hours, holidays, photo, the announcement for
the weekly digest; and inviting someone to the team."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

from chatshop.conversation.cards import opening_hours
from chatshop.conversation.context import Context, say
from chatshop.conversation.handlers import Takes, answer, arg, command, press
from chatshop.conversation.merchant import dashboard, my_shop
from chatshop.conversation.messages import Button, Reply
from chatshop.domain.models import OpeningInterval, Role, ShopDetails
from chatshop.domain.parsing import clean_description, parse_opening_hours, parse_whole_number
from chatshop.errors import InvalidInput, NotAllowed, NotFound
from chatshop.i18n import _

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
    ctx.expect("setting", shop=shop_id, key=key,
               takes=Takes.NUMBER if key == "hold_hours" else Takes.FREE)
    return [say(_("Type the new value for « {what} »:").format(what=_SETTINGS[key][1]()),
                back=f"st:{shop_id}")]


@answer("setting")
async def save_setting(ctx: Context, text: str) -> list[Reply]:
    waiting = ctx.state.get("answering", {})
    shop_id, key = int(waiting.get("shop", 0)), str(waiting.get("key", ""))
    value: object = text
    if key == "hold_hours":
        value = parse_whole_number(text)
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
    shop_id = await my_shop(ctx, [])
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


@answer("hours", Takes.WORDS)
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


