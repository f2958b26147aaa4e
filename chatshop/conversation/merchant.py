"""What shopkeepers do, in the same chat: join by invite, see their dashboard, handle
reservations, import and export CSV files, host other makers.

Their products are in ``shop_products`` (screens and buttons) and ``product_commands``
(``/stock``, ``/prix``, captioned photos); the shop's card in ``shop_settings``. Every
handler names the shop or product it acts on, and the services re-check that this
person runs it: a forged button gets « réservé à l'équipe » and changes nothing.
"""

from __future__ import annotations

from chatshop.conversation.cards import reservation_lines
from chatshop.conversation.context import Context, say
from chatshop.conversation.handlers import answer, arg, command, press
from chatshop.conversation.messages import Button, Document, Reply
from chatshop.domain.models import (
    HostingStatus,
    Reservation,
    ReservationStatus,
    Role,
)
from chatshop.errors import InvalidInput, NotAllowed
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


async def my_shop(ctx: Context, args: list[str]) -> int | None:
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
    shop_id = await my_shop(ctx, args)
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
            names=", ".join(f"{p.name} ({format_number(p.available)})" for p in low[:5])))
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
    shop_id = await my_shop(ctx, [])
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


