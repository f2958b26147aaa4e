"""What shopkeepers do, in the same chat: join by invite, see their dashboard, handle
reservations, import and export CSV files, host other makers.

Their products are in ``shop_products`` (screens and buttons) and ``product_commands``
(``/stock``, ``/prix``, captioned photos); the shop's card in ``shop_settings``. Every
handler names the shop or product it acts on, and the services re-check that this
person runs it: a forged button gets « réservé à l'équipe » and changes nothing.
"""

from __future__ import annotations

from chatshop.conversation.context import Context, pager, say
from chatshop.conversation.figures import figures_button
from chatshop.conversation.handlers import answer, command, handles
from chatshop.conversation.messages import Button, Command, Document, Event, Reply
from chatshop.conversation.notices import reservation_for_staff, staff_name, tell_customer_of
from chatshop.conversation.prompts import CancelReason
from chatshop.conversation.routes import (
    ADD_PRODUCT,
    CANCEL_BY_SHOP,
    COLLECTED,
    DASHBOARD,
    EXPORT_MENU,
    EXPORT_PRODUCTS,
    EXPORT_RESERVATIONS,
    HOSTING,
    HOSTING_ACCEPT,
    HOSTING_CHOOSE,
    HOSTING_END,
    HOSTING_REQUEST,
    IMPORT_TEMPLATE,
    PRODUCT_LIST,
    READY,
    RESERVATION,
    SETTINGS,
    SHARE,
    SHOP_RESERVATIONS,
    TODAY,
)
from chatshop.domain.models import (
    HostingStatus,
    Reservation,
    ReservationStatus,
    Role,
)
from chatshop.domain.product_csv import reservations_csv, template_csv
from chatshop.errors import InvalidInput, NotAllowed
from chatshop.i18n import _, format_money, format_number, format_phone, ngettext

PAGE = 5
LOW_STOCK = 2
INVITE_COMMAND = "invitation"
INVITE_LINK = "i_"  # ``/start i_CODE``: a deep link accepting an invitation


def changes_roles(event: Event) -> bool:
    """Whether ``event`` may make its sender staff of a shop (accepting an invitation,
    typed or through a deep link): a channel then shows them their new menu."""
    return isinstance(event, Command) and (
        event.name == INVITE_COMMAND
        or (event.name == "start" and event.args.startswith(INVITE_LINK)))


# -- joining and the dashboard ---------------------------------------------------------


@command(INVITE_COMMAND)
async def accept_invite(ctx: Context, args: list[str]) -> list[Reply]:
    """Join a shop's team with the invite code the operator or the owner sent."""
    if not args:
        raise InvalidInput(_("Please type the invitation code after /invitation."))
    member = await ctx.services.shops.accept_invite(ctx.user.id, args[0])
    joined = await ctx.services.shops.get(member.shop_id)
    text = (_("Welcome! You are now the owner of {shop}.") if member.role is Role.OWNER
            else _("Welcome! You are now part of the team of {shop}.")).format(shop=joined.name)
    return [say(text, (DASHBOARD.button(_("🏪 My shop"), shop=joined.id),))]


async def my_shop(ctx: Context, shop: int | None = None) -> int | None:
    """The shop named by the button, else the only one this person runs, else the one
    whose dashboard they opened last (remembered for photos and files)."""
    if shop is not None:
        if shop in ctx.shop_ids:
            ctx.state["shop"] = shop
        return shop
    if len(ctx.shop_ids) == 1:
        return ctx.shop_ids[0]
    remembered = ctx.state.get("shop")
    return remembered if remembered in ctx.shop_ids else None


@handles(DASHBOARD, "boutique", "maboutique")
async def dashboard(ctx: Context, shop: int | None = None) -> list[Reply]:
    """Today's work at a glance: reservations to prepare, products running low."""
    shop_id = await my_shop(ctx, shop)
    if shop_id is None:
        if not ctx.shop_ids:
            raise NotAllowed("not staff anywhere")
        choices: list[tuple[Button, ...]] = []
        for each in ctx.shop_ids[:PAGE]:
            found = await ctx.services.shops.get(each)
            choices.append((DASHBOARD.button(f"🏪 {found.name}", shop=found.id),))
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
        (SHOP_RESERVATIONS.button(_("📋 Reservations ({n})").format(n=len(live)),
                                  shop=shop_id),
         TODAY.button(_("📋 Today"), shop=shop_id)),
        (PRODUCT_LIST.button(_("🛍 Products"), shop=shop_id, offset=0),
         ADD_PRODUCT.button(_("➕ Add a product"), shop=shop_id)),
        (SETTINGS.button(_("⚙️ Settings"), shop=shop_id),
         SHARE.button(_("🔗 Share my shop"), shop=shop_id)),
        (EXPORT_MENU.button(_("📤 Figures, files, hosting"), shop=shop_id),),
    ]  # « 👥 Invite » is under ⚙️ Settings › More…, « 📊 Figures » and « 🤝 Hosting »
    #   under 📤: 7 and « Menu »
    lines.append(_("To add a product, you can also send a photo captioned like "
                   "« Savon lavande 6,50 € x12 »."))
    return [say("\n".join(lines), *rows)]


# -- reservations ----------------------------------------------------------------------


def reservations_button(shop_id: int) -> Button:
    return SHOP_RESERVATIONS.button(_("📋 Reservations"), shop=shop_id)


def handled_buttons(shop_id: int) -> tuple[Button, ...]:
    """Under a reservation just handled: back to the reservations, or to the day's list."""
    return (reservations_button(shop_id), TODAY.button(_("📋 Today"), shop=shop_id))


@handles(SHOP_RESERVATIONS)
async def shop_reservations(ctx: Context, shop: int) -> list[Reply]:
    """The reservations to handle, soonest deadline first."""
    shop_id = shop
    live = await ctx.services.reservations.for_shop(ctx.actor, shop_id)
    if not live:
        return [say(_("No reservation to handle. 🎉"), back=DASHBOARD.payload(shop=shop_id))]
    rows = []
    for each in live[:PAGE]:
        name = await staff_name(ctx, each)  # « 📞 Mme Dupont » for a phone one
        mark = "✅" if each.status is ReservationStatus.READY else "⏳"
        rows.append((RESERVATION.button(f"{mark} {each.code} · {name} · "
                                        f"{format_money(each.total_cents)}"[:64],
                                        reservation=each.id),))
    text = ngettext("{n} reservation:", "{n} reservations:", len(live)).format(n=len(live))
    return [say(text, *rows, back=DASHBOARD.payload(shop=shop_id))]


@handles(RESERVATION)
async def reservation_view(ctx: Context, reservation: int) -> list[Reply]:
    """One reservation as the shop handles it."""
    found = await _staffed_reservation(ctx, reservation)
    return [await reservation_for_staff(ctx, found, handled_here=True)]


async def _staffed_reservation(ctx: Context, reservation_id: int) -> Reservation:
    return await ctx.services.reservations.for_staff(ctx.actor, reservation_id)


@handles(READY)
async def mark_ready(ctx: Context, reservation: int) -> list[Reply]:
    """The items are set aside: the customer is told they can come."""
    done = await ctx.services.reservations.mark_ready(ctx.actor, reservation)
    await tell_customer_of(ctx, done)
    text = (_("Reservation {code} is ready; the customer has been told.")
            if not done.by_phone else
            _("Reservation {code} is ready. It was taken by phone: nobody has been told.")
            + _call_back(ctx, done))
    return [say(text.format(code=done.code), handled_buttons(done.shop_id))]


def _call_back(ctx: Context, done: Reservation) -> str:
    """For a phone reservation's handling: whom to call back, when the staff wrote it
    (to the pickup shop's own team only: not the territory's operator)."""
    person = done.contact
    if person is None or not person.phone or done.shop_id not in ctx.shop_ids:
        return ""
    return " " + _("To call {name} back: {phone}.").format(
        name=person.name or _("the customer"), phone=format_phone(person.phone))


@handles(COLLECTED)
async def mark_collected(ctx: Context, reservation: int) -> list[Reply]:
    """Paid and taken away: the stock goes down for good."""
    done = await ctx.services.reservations.mark_collected(ctx.actor, reservation)
    await tell_customer_of(ctx, done)
    return [say(_("Reservation {code} is collected and paid. Thank you!").format(
        code=done.code), handled_buttons(done.shop_id))]


@handles(CANCEL_BY_SHOP)
async def cancel_ask_reason(ctx: Context, reservation: int) -> list[Reply]:
    """« ✖️ Cancel »: the customer will be told why, so ask."""
    found = await _staffed_reservation(ctx, reservation)
    ctx.expect(CancelReason(reservation=found.id))
    question = (_("Why cancel {code}? Type a short reason for the customer (e.g. « sold "
                  "out, sorry »).") if not found.by_phone else
                _("Why cancel {code}? Type a short reason, kept with the reservation (it "
                  "was taken by phone: nobody is told)."))
    return [say(question.format(code=found.code),
                back=RESERVATION.payload(reservation=found.id))]


@answer(CancelReason)
async def cancel_with_reason(ctx: Context, text: str, waiting: CancelReason) -> list[Reply]:
    """The reason typed: the reservation is cancelled and the customer told why."""
    done = await ctx.services.reservations.cancel_by_shop(ctx.actor, waiting.reservation, text)
    await tell_customer_of(ctx, done)
    text = (_("Reservation {code} is cancelled; the customer has been told why.")
            if not done.by_phone else
            _("Reservation {code} is cancelled. It was taken by phone: nobody has been told.")
            + _call_back(ctx, done))
    return [say(text.format(code=done.code), handled_buttons(done.shop_id))]


# -- CSV -------------------------------------------------------------------------------


@handles(EXPORT_MENU)
async def export_menu(ctx: Context, shop: int) -> list[Reply]:
    """The shop's figures, the files it can take away and how to send one back; and its
    hosting agreements (rarer: here, so that the dashboard keeps to 8 buttons)."""
    await ctx.services.shops.staff(ctx.actor, shop)
    rows = [(figures_button(shop),),
            (EXPORT_PRODUCTS.button(_("🛍 Products (CSV)"), shop=shop),
             EXPORT_RESERVATIONS.button(_("📋 Reservations (CSV)"), shop=shop)),
            (IMPORT_TEMPLATE.button(_("📄 Import template"), shop=shop),
             HOSTING.button(_("🤝 Hosting"), shop=shop))]
    return [say(_("📊 Figures: the last 8 weeks of reservations, as a chart.") + "\n\n" +
                _("Which file? To import products, send a CSV file here (Excel or "
                  "LibreOffice); nothing is changed if a line is wrong.") + "\n\n" +
                _("🤝 Hosting: other shops that display and collect your products, or "
                  "you theirs."), *rows,
                back=DASHBOARD.payload(shop=shop))]


@handles(EXPORT_PRODUCTS)
async def export_products(ctx: Context, shop: int) -> list[Reply]:
    """The shop's products as a CSV file."""
    data = await ctx.services.catalogue.export_products(ctx.actor, shop)
    return [say(_("Your products:"), back=DASHBOARD.payload(shop=shop)).model_copy(update={
        "document": Document(file_name="produits.csv", data=data)})]


@handles(EXPORT_RESERVATIONS)
async def export_reservations(ctx: Context, shop: int) -> list[Reply]:
    """The shop's reservations, all of them, as a CSV file."""
    shop_id = shop
    found = await ctx.services.reservations.for_shop(ctx.actor, shop_id, tuple(ReservationStatus))
    names: dict[int, str] = {}
    for each in found:
        person = await ctx.services.customers.get(each.user_id)
        names[each.user_id] = person.display_name if person else ""
    data = reservations_csv(found, names, ctx.tz)
    return [say(_("Your reservations:"), back=DASHBOARD.payload(shop=shop_id)).model_copy(
        update={"document": Document(file_name="reservations.csv", data=data)})]


@handles(IMPORT_TEMPLATE)
async def template(ctx: Context, shop: int) -> list[Reply]:
    """An empty CSV to fill in with products, one a line."""
    return [say(_("Fill in this template (one product a line) and send it back here."),
                back=DASHBOARD.payload(shop=shop)).model_copy(update={
        "document": Document(file_name="modele-produits.csv", data=template_csv())})]


async def document(ctx: Context, file_name: str, data: bytes) -> list[Reply]:
    """A CSV sent by a shopkeeper: every line is checked first, then all are applied."""
    shop_id = await my_shop(ctx)
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
    return [say("\n".join(lines), (PRODUCT_LIST.button(_("🛍 Products"), shop=shop_id,
                                                       offset=0),))]


# -- hosting (dépôt) -------------------------------------------------------------------


@handles(HOSTING)
async def hosting(ctx: Context, shop: int) -> list[Reply]:
    """Agreements with other shops: whose products we display, where ours are displayed."""
    shop_id = shop
    agreements = await ctx.services.shops.hostings(ctx.actor, shop_id)
    lines = [_("🤝 Hosting (dépôt)")]
    rows: list[tuple[Button, ...]] = []
    for each in agreements:
        here = each.host_shop_id == shop_id
        other = await ctx.services.shops.get(each.maker_shop_id if here else each.host_shop_id)
        if each.status is HostingStatus.PROPOSED and here:
            lines.append(_("• {shop} asks you to display and collect its products.").format(
                shop=other.name))
            rows.append((HOSTING_ACCEPT.button(_("✅ Accept {shop}").format(shop=other.name)[:40],
                                               host=shop_id, maker=other.id),
                         HOSTING_END.button(_("✖️ Decline"), host=shop_id, maker=other.id)))
        elif each.status is HostingStatus.PROPOSED:
            lines.append(_("• Waiting for {shop} to answer.").format(shop=other.name))
        elif each.status is HostingStatus.ACCEPTED:
            lines.append((_("• You display the products of {shop}.") if here
                          else _("• {shop} displays your products.")).format(shop=other.name))
            host, maker = (shop_id, other.id) if here else (other.id, shop_id)
            rows.append((HOSTING_END.button(_("✖️ End with {shop}").format(shop=other.name)[:40],
                                            host=host, maker=maker),))
    if len(lines) == 1:
        lines.append(_("No agreement yet. Another shop can display and collect your "
                       "products, and you theirs."))
    rows = rows[:4]
    rows.append((HOSTING_CHOOSE.button(_("➕ Ask a shop"), shop=shop_id, offset=0),))
    return [say("\n".join(lines), *rows, back=DASHBOARD.payload(shop=shop_id))]


@handles(HOSTING_CHOOSE)
async def hosting_choose(ctx: Context, shop: int, offset: int) -> list[Reply]:
    """Which shop should display our products?"""
    await ctx.services.shops.staff(ctx.actor, shop)
    page = await ctx.services.shops.browse(offset=offset, limit=PAGE + 1)
    others = [s for s in page.items if s.id != shop][:PAGE]
    rows = [(HOSTING_REQUEST.button(f"🏪 {s.name}", maker=shop, host=s.id),) for s in others]
    more = pager(HOSTING_CHOOSE, offset, PAGE + 1, more=page.has_next, previous=False,
                 shop=shop)
    return [say(_("Which shop should display and collect your products?"), *rows, more,
                back=HOSTING.payload(shop=shop))]


@handles(HOSTING_REQUEST)
async def hosting_request(ctx: Context, maker: int, host: int) -> list[Reply]:
    """Ask another shop to display and collect our products."""
    maker_id, host_id = maker, host
    await ctx.services.shops.ask_hosting(ctx.actor, maker_id, host_id)
    maker_shop = await ctx.services.shops.get(maker_id)
    host_shop = await ctx.services.shops.get(host_id)
    for person in await ctx.services.shops.people_to_notify(host_id):
        ctx.notify(person, say(
            _("🤝 {maker} asks {host} to display and collect its products.").format(
                maker=maker_shop.name, host=host_shop.name),
            (HOSTING_ACCEPT.button(_("✅ Accept"), host=host_id, maker=maker_id),
             HOSTING_END.button(_("✖️ Decline"), host=host_id, maker=maker_id))))
    return [say(_("Request sent to {shop}.").format(shop=host_shop.name),
                back=HOSTING.payload(shop=maker_id))]


@handles(HOSTING_ACCEPT)
async def hosting_accept(ctx: Context, host: int, maker: int) -> list[Reply]:
    """The host shop accepts: the maker can now choose products to display there."""
    host_id, maker_id = host, maker
    await ctx.services.shops.accept_hosting(ctx.actor, host_id, maker_id)
    found = await ctx.services.shops.get(host_id)
    for person in await ctx.services.shops.people_to_notify(maker_id):
        ctx.notify(person, say(_("🤝 {host} accepted to display your products: choose them "
                                 "in your product list (« 📍 Display at… »).").format(
            host=found.name)))
    return await hosting(ctx, host_id)


@handles(HOSTING_END)
async def hosting_end(ctx: Context, host: int, maker: int) -> list[Reply]:
    """Decline a request, or end an agreement; the other shop is told."""
    host_id, maker_id = host, maker
    await ctx.services.shops.end_hosting(ctx.actor, host_id, maker_id)
    mine = host_id if host_id in ctx.shop_ids else maker_id
    other = maker_id if mine == host_id else host_id
    for person in await ctx.services.shops.people_to_notify(other):
        ctx.notify(person, say(_("🤝 The hosting agreement between {a} and {b} has ended; "
                                 "the products are back at their maker.").format(
            a=(await ctx.services.shops.get(host_id)).name,
            b=(await ctx.services.shops.get(maker_id)).name)))
    return await hosting(ctx, mine)


