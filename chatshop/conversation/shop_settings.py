"""The shop's card as its staff keep it: address, phone, description, how to collect,
how long reservations are held, opening hours, holidays, photo, the announcement for
the weekly digest; inviting someone to the team; and the shop's own rules (#12), on one
screen « 🗓 Retraits et règles »: ask customers when they come, the team's morning
message, the Monday figures, public holidays, and what one customer may hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chatshop.conversation.cards import opening_hours
from chatshop.conversation.context import Context, say
from chatshop.conversation.handlers import Takes, answer, command, handles
from chatshop.conversation.merchant import dashboard, my_shop
from chatshop.conversation.messages import Button, Reply
from chatshop.conversation.prompts import Announcement, Holiday, Hours, Setting, ShopPhoto
from chatshop.conversation.routes import (
    ASK_ANNOUNCEMENT,
    ASK_HOURS,
    ASK_SETTING,
    ASK_SHOP_PHOTO,
    DASHBOARD,
    INVITE_STAFF,
    MORE_SETTINGS,
    SETTINGS,
    SHOP_CAP_ASK,
    SHOP_CAP_SET,
    SHOP_RULE_TOGGLE,
    SHOP_RULES,
    TOGGLE_HOLIDAY,
)
from chatshop.domain.calendar import public_holiday
from chatshop.domain.models import OpeningInterval, Role, Shop, ShopDetails
from chatshop.domain.parsing import clean_description, parse_opening_hours, parse_whole_number
from chatshop.errors import InvalidInput, NotAllowed, NotFound
from chatshop.i18n import _, format_day, format_number, format_phone

_SETTINGS: dict[str, tuple[str, Callable[[], str]]] = {
    "address": ("📍", lambda: _("Address")),
    "phone": ("📞", lambda: _("Phone")),
    "description": ("📝", lambda: _("Description")),
    "pickup_instructions": ("🛎", lambda: _("How to collect")),
    "hold_hours": ("⏱", lambda: _("Hold (hours)")),
}


@handles(SETTINGS)
async def settings(ctx: Context, shop: int) -> list[Reply]:
    """The shop's card as customers see it, and what can be changed here."""
    shop_id = shop
    await ctx.services.shops.staff(ctx.actor, shop_id)
    found = await ctx.services.shops.get(shop_id)
    lines = [f"⚙️ {found.name}",
             f"📍 {found.address or '—'}",
             f"📞 {format_phone(found.phone) if found.phone else '—'}",
             f"🛎 {found.pickup_instructions or '—'}",
             _("⏱ Reservations held {n} h.").format(n=found.hold_hours)]
    buttons = [ASK_SETTING.button(f"{icon} {label()}", shop=shop_id, key=key)
               for key, (icon, label) in _SETTINGS.items()]
    buttons.append(ASK_HOURS.button(_("🕘 Opening hours"), shop=shop_id))
    buttons.append(MORE_SETTINGS.button(_("More…"), shop=shop_id))
    rows = [tuple(buttons[i:i + 2]) for i in range(0, len(buttons), 2)]
    return [say("\n".join(lines), *rows, back=DASHBOARD.payload(shop=shop_id))]


def _back(shop_id: int) -> str:
    """The « Retour » to the shop's settings."""
    return SETTINGS.payload(shop=shop_id)


@handles(ASK_SETTING)
async def ask_setting(ctx: Context, shop: int, key: str = "") -> list[Reply]:
    """One line of the shop's card: its new value is typed next."""
    if key not in _SETTINGS:
        raise NotFound("setting", key)
    await ctx.services.shops.staff(ctx.actor, shop)
    ctx.expect(Setting(shop=shop, key=key,
                       takes=Takes.NUMBER if key == "hold_hours" else Takes.FREE))
    return [say(_("Type the new value for « {what} »:").format(what=_SETTINGS[key][1]()),
                back=_back(shop))]


@answer(Setting)
async def save_setting(ctx: Context, text: str, waiting: Setting) -> list[Reply]:
    """The value typed for one line of the shop's card."""
    shop_id, key = waiting.shop, waiting.key
    if key in _CAPS:
        return await _save_cap(ctx, shop_id, key, parse_whole_number(text))
    value: object = text
    if key == "hold_hours":
        value = parse_whole_number(text)
        if not 1 <= int(str(value)) <= 720:
            raise InvalidInput(_("Between 1 and 720 hours, please."))
    if key not in _SETTINGS:  # a prompt saved by hand, or by an older version
        raise NotFound("setting", key)
    await ctx.services.shops.update_shop(ctx.actor, shop_id, ShopDetails(**{key: value}))
    return await settings(ctx, shop_id)


@handles(MORE_SETTINGS)
async def more_settings(ctx: Context, shop: int) -> list[Reply]:
    """Holidays, the shop's photo, the announcement, inviting someone to the team."""
    await ctx.services.shops.staff(ctx.actor, shop)
    found = await ctx.services.shops.get(shop)
    holiday = (_("🟢 Reopen") if found.on_holiday else _("🏖 Close for holidays"))
    rows = [(TOGGLE_HOLIDAY.button(holiday, shop=shop),
             ASK_SHOP_PHOTO.button(_("📷 Photo"), shop=shop)),
            (ASK_ANNOUNCEMENT.button(_("📣 Announcement"), shop=shop),
             INVITE_STAFF.button(_("👥 Invite"), shop=shop)),
            (SHOP_RULES.button(_("🗓 Pickups and rules"), shop=shop),)]
    return [say(f"⚙️ {found.name}", *rows, back=_back(shop))]


@command("annonce")
async def announcement_command(ctx: Context, args: list[str]) -> list[Reply]:
    """``/annonce Nouvelle collection d'automne !`` (alone: shows it and asks)."""
    if not ctx.shop_ids:
        raise NotAllowed("announcement command")
    shop_id = await my_shop(ctx)
    if shop_id is None:
        return await dashboard(ctx)
    if args:
        return await _save_announcement(ctx, shop_id, " ".join(args))
    return await ask_announcement(ctx, shop_id)


@handles(ASK_ANNOUNCEMENT)
async def ask_announcement(ctx: Context, shop: int) -> list[Reply]:
    """The shop's word in the weekly digest: shown, then typed anew."""
    shop_id = shop
    await ctx.services.shops.staff(ctx.actor, shop_id)
    found = await ctx.services.shops.get(shop_id)
    now = (_("Your announcement now:\n« {text} »").format(text=found.announcement)
           if found.announcement else _("No announcement at the moment."))
    ctx.expect(Announcement(shop=shop_id))
    return [say(now + "\n\n" + _(
        "Type the news for your subscribers' weekly digest (500 characters at most: a new "
        "collection, an event, opening hours for the holidays...), or « - » to remove it."),
        back=MORE_SETTINGS.payload(shop=shop_id))]


@answer(Announcement)
async def announcement_answer(ctx: Context, text: str, waiting: Announcement
                              ) -> list[Reply]:
    """The announcement typed: saved for the next digest (« - »: removed)."""
    return await _save_announcement(ctx, waiting.shop, text)


async def _save_announcement(ctx: Context, shop_id: int, text: str) -> list[Reply]:
    wanted = "" if text.strip() in ("-", "—") else text
    shop = await ctx.services.shops.set_announcement(ctx.actor, shop_id, wanted)
    told = (_("📣 Saved: subscribers will read it in the next weekly digest.")
            if shop.announcement else _("📣 Announcement removed."))
    return [say(told, back=MORE_SETTINGS.payload(shop=shop_id))]


@handles(ASK_HOURS)
async def ask_hours(ctx: Context, shop: int) -> list[Reply]:
    """« 🕘 Opening hours »: typed next, days first."""
    await ctx.services.shops.staff(ctx.actor, shop)
    ctx.expect(Hours(shop=shop))
    return [say(_("Type your opening hours, days first, e.g.\n"
                  "mar-ven 9h-12h30 14h-19h; sam 9h-12h\n(days not written are closed)"),
                back=_back(shop))]


@answer(Hours, Takes.WORDS)
async def save_hours(ctx: Context, text: str, waiting: Hours) -> list[Reply]:
    """The opening hours typed, read day by day."""
    shop_id = waiting.shop
    intervals = [OpeningInterval(weekday=day, opens=time.fromisoformat(opens),
                                 closes=time.fromisoformat(closes))
                 for day, opens, closes in parse_opening_hours(text)]
    shop = await ctx.services.shops.set_hours(ctx.actor, shop_id, intervals)
    return [say("\n".join([_("🕘 Opening hours saved:"), *opening_hours(shop)]),
                back=_back(shop_id))]


@handles(ASK_SHOP_PHOTO)
async def ask_shop_photo(ctx: Context, shop: int) -> list[Reply]:
    """« 📷 Photo »: the next photo sent is the shop's."""
    await ctx.services.shops.staff(ctx.actor, shop)
    ctx.expect(ShopPhoto(shop=shop))
    return [say(_("Send the photo of your shop (the shopfront, the counter...)."),
                back=_back(shop))]


@handles(TOGGLE_HOLIDAY)
async def toggle_holiday(ctx: Context, shop: int) -> list[Reply]:
    """Reopen at once; or close for the holidays, with a word for customers."""
    await ctx.services.shops.staff(ctx.actor, shop)  # staff only, before asking anything
    found = await ctx.services.shops.get(shop)
    if found.on_holiday:
        await ctx.services.shops.set_holiday(ctx.actor, shop, False)
        return await settings(ctx, shop)
    ctx.expect(Holiday(shop=shop))
    return [say(_("A message for customers? (e.g. « Back on 2 January ») Type it, or « - » "
                  "for none."), back=_back(shop))]


@answer(Holiday)
async def close_for_holidays(ctx: Context, text: str, waiting: Holiday) -> list[Reply]:
    """The word for customers typed: the shop is closed for the holidays."""
    message = "" if text.strip() in ("-", "—") else clean_description(text, max_length=300)
    await ctx.services.shops.set_holiday(ctx.actor, waiting.shop, True, message)
    return await settings(ctx, waiting.shop)


@handles(INVITE_STAFF)
async def invite_staff(ctx: Context, shop: int) -> list[Reply]:
    """An owner invites someone to help run the shop."""
    invite = await ctx.services.shops.invite(ctx.actor, shop, Role.STAFF)
    return [say(_("Send this to the person you invite: they open the bot and type\n"
                  "/invitation {code}\n(valid 7 days, once).").format(code=invite.code),
                back=MORE_SETTINGS.payload(shop=shop))]




# -- the shop's rules (#12) ----------------------------------------------------------------

# A yes/no rule: its key on the button, its ``Shop``/``ShopDetails`` field, its words.
_RULES: dict[str, tuple[str, Callable[[], str]]] = {
    "ask": ("asks_pickup_time", lambda: _("🕒 Ask customers when they come")),
    "morning": ("morning_message", lambda: _("🌅 Morning message to the team")),
    "figures": ("weekly_figures", lambda: _("📊 The week's figures on Monday")),
    "holidays": ("opens_on_public_holidays", lambda: _("🎉 Open on public holidays")),
}
# A cap: its field, its words, and the values offered as buttons (any other is typed).
_CAPS: dict[str, tuple[Callable[[], str], tuple[int, ...]]] = {
    "max_units_per_product": (lambda: _("🛒 Units of one product per customer"),
                              (1, 2, 3, 5, 10)),
    "max_open_reservations": (lambda: _("📋 Open reservations per customer"),
                              (1, 3, 5, 10, 20)),
}
CAP_MAX = 999


def _rules_back(shop_id: int) -> str:
    """The « Retour » to the shop's rules."""
    return SHOP_RULES.payload(shop=shop_id)


def _yes_no(on: bool) -> str:
    return _("yes") if on else _("no")


def _next_holiday(now_day: date, tz: ZoneInfo) -> str:
    """« (prochain : Noël, vendredi 25 décembre) », within a year."""
    for ahead in range(366):
        day = now_day + timedelta(days=ahead)
        if (name := public_holiday(day)) is not None:
            moment = datetime.combine(day, time(12), tzinfo=tz)
            return _("(next: {name}, {day})").format(name=name, day=format_day(moment, tz))
    return ""


def _rules_text(ctx: Context, found: Shop) -> str:
    lines = [_("🗓 Pickups and rules — {shop}").format(shop=found.name), ""]
    for field, words in _RULES.values():
        lines.append(_("{rule}: {yes_no}").format(rule=words(),
                                                  yes_no=_yes_no(getattr(found, field))))
    lines[-1] += " " + _next_holiday(ctx.now.astimezone(ctx.tz).date(), ctx.tz)
    lines.append(_("🛒 At most {n} units of one product per customer").format(
        n=format_number(found.max_units_per_product)))
    lines.append(_("📋 At most {n} open reservations per customer at a time").format(
        n=format_number(found.max_open_reservations)))
    lines += ["", _("A public holiday the shop keeps closed gives no pickup time, and a "
                    "hold ending on it runs until the next opening. Phone reservations "
                    "are not capped.")]
    return "\n".join(lines)


@handles(SHOP_RULES)
async def shop_rules(ctx: Context, shop: int) -> list[Reply]:
    """« 🗓 Retraits et règles »: the shop's rules, each switched or changed with a tap."""
    await ctx.services.shops.staff(ctx.actor, shop)
    found = await ctx.services.shops.get(shop)
    rows: list[tuple[Button, ...]] = [(SHOP_RULE_TOGGLE.button(
        _("{rule}: {yes_no}").format(rule=words(), yes_no=_yes_no(getattr(found, field))),
        shop=shop, rule=key),) for key, (field, words) in _RULES.items()]
    rows += [(SHOP_CAP_ASK.button(_("🛒 Units per product: {n}").format(
                  n=format_number(found.max_units_per_product)), shop=shop,
                  cap="max_units_per_product"),
              SHOP_CAP_ASK.button(_("📋 Reservations: {n}").format(
                  n=format_number(found.max_open_reservations)), shop=shop,
                  cap="max_open_reservations"))]
    return [say(_rules_text(ctx, found), *rows, back=MORE_SETTINGS.payload(shop=shop))]


@handles(SHOP_RULE_TOGGLE)
async def toggle_rule(ctx: Context, shop: int, rule: str) -> list[Reply]:
    """One yes/no rule switched (an unknown one is not found, nothing changes)."""
    if rule not in _RULES:
        raise NotFound("rule", rule)
    await ctx.services.shops.staff(ctx.actor, shop)
    field = _RULES[rule][0]
    found = await ctx.services.shops.get(shop)
    await ctx.services.shops.update_shop(ctx.actor, shop, ShopDetails.model_validate(
        {field: not getattr(found, field)}))
    return await shop_rules(ctx, shop)


@handles(SHOP_CAP_ASK)
async def ask_cap(ctx: Context, shop: int, cap: str) -> list[Reply]:
    """A cap: a few values to tap, or any number from 1 to 999 typed."""
    if cap not in _CAPS:
        raise NotFound("rule", cap)
    await ctx.services.shops.staff(ctx.actor, shop)
    words, offered = _CAPS[cap]
    ctx.expect(Setting(shop=shop, key=cap, takes=Takes.NUMBER))
    buttons = [SHOP_CAP_SET.button(format_number(n), shop=shop, cap=cap, value=n)
               for n in offered]
    return [say(_("{what}: tap a number, or type one from 1 to {most}.").format(
        what=words(), most=format_number(CAP_MAX)), tuple(buttons),
        back=_rules_back(shop))]


@handles(SHOP_CAP_SET)
async def set_cap(ctx: Context, shop: int, cap: str, value: int) -> list[Reply]:
    """A cap's value tapped."""
    if cap not in _CAPS:
        raise NotFound("rule", cap)
    return await _save_cap(ctx, shop, cap, value)


async def _save_cap(ctx: Context, shop_id: int, cap: str, value: int) -> list[Reply]:
    if not 1 <= value <= CAP_MAX:
        raise InvalidInput(_("Please type a whole number between 1 and {most}.").format(
            most=format_number(CAP_MAX)))
    await ctx.services.shops.update_shop(ctx.actor, shop_id,
                                         ShopDetails.model_validate({cap: value}))
    ctx.done_waiting()
    return await shop_rules(ctx, shop_id)
