"""What customers do: find a shop or a product, fill a basket, reserve, follow their
reservations, contact a shop, and manage their own data."""

from __future__ import annotations

from chatshop.conversation import phone_offer
from chatshop.conversation.cards import (
    availability,
    only_left,
    product_card,
    product_line,
    reservation_proof,
    reservation_summary,
    shop_card,
    sold_out_mark,
)
from chatshop.conversation.context import Context, nonce, say, to_operators
from chatshop.conversation.handlers import Takes, answer, arg, command, press
from chatshop.conversation.messages import Button, Document, Reply, Venue
from chatshop.domain.models import ListedProduct, Product, Reservation, ReservationStatus, User
from chatshop.errors import NotFound
from chatshop.i18n import _, format_money, format_number, ngettext

PAGE = 5  # list items per screen, leaving room for paging and the way on (<= 8 buttons)
QUANTITY_STEPS = (1, 2, 3, 5)
SIMILAR = 3  # products offered instead of a sold-out one


# -- menu, help, welcome ---------------------------------------------------------------


async def menu(ctx: Context) -> Reply:
    items = await ctx.services.baskets.item_count(ctx.user.id)
    rows: list[tuple[Button, ...]] = [
        (Button(label=_("🔎 Search"), payload="sq"),
         Button(label=_("🏘 Shops"), payload="c")),
        (Button(label=_("🧺 Basket ({n})").format(n=items), payload="b"),
         Button(label=_("📋 My reservations"), payload="rs")),
    ]
    extra: list[Button] = []
    if ctx.shop_ids:
        extra.append(Button(label=_("🏪 My shop"), payload="d"))
    if ctx.is_operator:
        extra.append(Button(label=_("🛠 Territory"), payload="o"))
    extra.append(Button(label=_("📰 News"), payload="nw"))
    extra.append(Button(label=_("❓ Help"), payload="h"))
    rows.append(tuple(extra))
    text = (_("Hello {name}! What would you like to do?").format(name=ctx.user.display_name)
            if ctx.user.display_name else _("Hello! What would you like to do?"))
    text += "\n" + _("You can also simply type what you are looking for, e.g. « miel ».")
    return Reply(text=text, buttons=tuple(rows))


@press("m")
@command("menu")
async def show_menu(ctx: Context, args: list[str]) -> list[Reply]:
    """The main menu: every screen leads back here."""
    ctx.done_waiting()
    return [await menu(ctx)]


@command("start")
async def start(ctx: Context, args: list[str]) -> list[Reply]:
    """Welcome; a deep link opens a shop (``s_slug``), a product (``p_12``) or an invite."""
    payload = args[0] if args else ""
    if payload.startswith("p_"):
        return await product(ctx, [payload[2:]])
    if payload.startswith("s_"):
        found = await ctx.services.shops.by_slug(payload[2:])
        return await shop(ctx, [str(found.id)])
    if payload.startswith("i_"):
        from chatshop.conversation.merchant import accept_invite
        return await accept_invite(ctx, [payload[2:]])
    return [await welcome(ctx)]


def welcome_line(ctx: Context) -> str:
    return _("Welcome to the shops of {territory}! Reserve here, pay and collect in the "
             "shop.").format(territory=ctx.territory)


async def welcome(ctx: Context) -> Reply:
    """The first screen: what the bot is for, and the menu."""
    home = await menu(ctx)
    return home.model_copy(update={"text": welcome_line(ctx) + "\n\n" + home.text})


@press("h")
@command("aide", "help")
async def help_(ctx: Context, args: list[str]) -> list[Reply]:
    """How the bot works, in a few lines, under the menu's buttons."""
    home = await menu(ctx)
    return [home.model_copy(update={"text": help_text(ctx)})]


def help_text(ctx: Context) -> str:
    lines = [
        _("ℹ️ How it works"),
        _("• Type what you are looking for (« savon », « miel »...) or browse the shops."),
        _("• Reserve: the shop keeps your items until the time shown."),
        _("• You pay and collect in the shop. No online payment, no delivery."),
        _("• /panier: your basket · /reservations: your reservations · /menu: the menu"),
        _("• /nouvelles: the news of the week, if you like · /desabonnement: stop it"),
        _("• /mesdonnees: your data · /effacer: erase your data"),
    ]
    if ctx.shop_ids:
        lines.append(_("• Shopkeepers: /boutique, /produits, /ajouter, /annonce <text>, "
                       "/stock <product> <quantity> (or +2, -1), "
                       "/prix <product> <price>, or send a photo captioned « Savon lavande "
                       "6,50 € x12 »."))
    if ctx.is_operator:
        lines.append(_("• Operator: /territoire"))
    return "\n".join(lines)


# -- browsing --------------------------------------------------------------------------


@press("c")
@command("boutiques", "communes")
async def communes(ctx: Context, args: list[str]) -> list[Reply]:
    """The communes where there are shops, or straight the shops if there is only one."""
    found = await ctx.services.shops.communes_with_shops()
    if len(found) <= 1:
        return await shops_in(ctx, [str(found[0].id) if found else "0", "0"])
    offset = arg(args, 0) if args else 0
    page = found[offset:offset + PAGE]
    rows = [(Button(label=f"🏘 {c.name}", payload=f"cs:{c.id}:0"),) for c in page]
    paging = _pager("c:{}", offset, len(found))
    return [say(_("Choose a commune:"), *rows, paging, edit=bool(args))]


@press("cs")
async def shops_in(ctx: Context, args: list[str]) -> list[Reply]:
    """The shops of one commune, a page at a time."""
    commune_id, offset = arg(args, 0, "commune"), arg(args, 1)
    page = await ctx.services.shops.browse(commune_id=commune_id or None, offset=offset,
                                           limit=PAGE)
    if not page.items:
        return [say(_("No shop here yet."), back="c")]
    rows = [(Button(label=f"{'🏖' if s.on_holiday else '🏪'} {s.name}", payload=f"s:{s.id}"),)
            for s in page.items]
    # A shop closed for the holidays stays listed, with its word for customers.
    notes = [" ".join(filter(None, ["🏖", _("{shop} is closed for the holidays.").format(
        shop=s.name), s.holiday_message])) for s in page.items if s.on_holiday]
    paging = _pager(f"cs:{commune_id}:{{}}", offset, page.total)
    return [say("\n".join([_("Shops:"), *notes]), *rows, paging, back="c", edit=offset > 0)]


@press("s")
async def shop(ctx: Context, args: list[str]) -> list[Reply]:
    """A shop's card: hours, open now or not, address, phone, how to collect."""
    found = await ctx.services.shops.get(arg(args, 0, "shop"))
    if not found.active:
        raise NotFound("shop", found.id)
    commune = await ctx.services.shops.commune(found.commune_id)
    text = shop_card(found, commune.name if commune else "", ctx.now, ctx.tz)
    rows = [(Button(label=_("🛍 Products"), payload=f"k:{found.id}"),
             Button(label=_("📞 Contact"), payload=f"ct:{found.id}"))]
    return [say(text, *rows, back=f"cs:{found.commune_id}:0",
                photo=ctx.photo(found.photos))]


@press("ct")
async def contact(ctx: Context, args: list[str]) -> list[Reply]:
    """How to reach a shop: phone, address, and the map where the channel has one."""
    found = await ctx.services.shops.get(arg(args, 0, "shop"))
    lines = [f"🏪 {found.name}"]
    if found.phone:
        lines.append(f"📞 {found.phone}")
    if found.address:
        lines.append(f"📍 {found.address}")
    reply = say("\n".join(lines), back=f"s:{found.id}")
    if found.latitude is not None and found.longitude is not None:
        reply = reply.model_copy(update={"venue": Venue(
            latitude=found.latitude, longitude=found.longitude, title=found.name,
            address=found.address)})
    return [reply]


@press("k")
async def categories(ctx: Context, args: list[str]) -> list[Reply]:
    """A shop's categories (straight to the products when there are few)."""
    shop_id = arg(args, 0, "shop")
    present = await ctx.services.catalogue.shop_categories(shop_id)
    if len(present) <= 1:
        return await products(ctx, [str(shop_id), "0", "0"])
    rows = [(Button(label=f"{c.name} ({n})", payload=f"l:{shop_id}:{c.id}:0"),)
            for c, n in present[:PAGE]]
    rows.append((Button(label=_("Everything"), payload=f"l:{shop_id}:0:0"),))
    return [say(_("Which kind of product?"), *rows, back=f"s:{shop_id}")]


@press("l")
async def products(ctx: Context, args: list[str]) -> list[Reply]:
    """A page of a shop's products (a category, or all of them)."""
    shop_id, category_id, offset = arg(args, 0, "shop"), arg(args, 1), arg(args, 2)
    page = await ctx.services.catalogue.shop_catalogue(
        shop_id, category_id=category_id or None, offset=offset, limit=PAGE)
    if not page.items:
        return [say(_("Nothing to show here yet."), back=f"s:{shop_id}")]
    rows = [(Button(label=product_line(item), payload=f"p:{item.product.id}"),)
            for item in page.items]
    paging = _pager(f"l:{shop_id}:{category_id}:{{}}", offset, page.total)
    text = ngettext("{n} product:", "{n} products:", page.total).format(
        n=format_number(page.total))
    return [say(text, *rows, paging, back=f"k:{shop_id}", edit=offset > 0)]


@press("p")
async def product(ctx: Context, args: list[str]) -> list[Reply]:
    """A product card: photo, price, availability; reserve it at once or choose more."""
    listed = await ctx.services.catalogue.listed(arg(args, 0, "product"))
    item = listed.product
    rows: list[tuple[Button, ...]] = []
    text = product_card(listed)
    if item.available > 0:
        rows.append((Button(label=_("✅ Reserve 1 now"), payload=f"r:{item.id}:1:{nonce()}"),))
        rows.append((Button(label=_("🔢 Choose the quantity"), payload=f"q:{item.id}:1"),
                     Button(label=_("🧺 Add to basket"), payload=f"a:{item.id}:1")))
    else:  # sold out: what else the shop has, of the same kind if it can tell
        others = await _instead(ctx, item)
        if others:
            text += "\n" + _("Also at {shop}:").format(shop=listed.pickup_shop_name)
        rows += [(Button(label=product_line(other), payload=f"p:{other.product.id}"),)
                 for other in others]
    rows.append((Button(label=_("🏪 The shop"), payload=f"s:{item.pickup_shop_id}"),))
    return [say(text, *rows, photo=ctx.photo(item.photos))]


async def _instead(ctx: Context, sold_out: Product) -> list[ListedProduct]:
    """Up to three products of the same shop that are still there: of the same category
    first, else any."""
    found: list[ListedProduct] = []
    for category_id in dict.fromkeys((sold_out.category_id, None)):
        page = await ctx.services.catalogue.shop_catalogue(
            sold_out.pickup_shop_id, category_id=category_id, limit=20)
        found += [each for each in page.items if each.product.available > 0
                  and each.product.id != sold_out.id and each not in found]
        if len(found) >= SIMILAR:
            break
    return found[:SIMILAR]


@press("q")
async def quantity(ctx: Context, args: list[str]) -> list[Reply]:
    """The quantity stepper: the count in the text, ➖ ➕ to change it, then reserve or add
    to the basket (edits in place)."""
    listed = await ctx.services.catalogue.listed(arg(args, 0, "product"))
    item = listed.product
    asked = arg(args, 1)
    wanted = max(1, min(asked, max(item.available, 1), 999))
    minus = Button(label="➖", payload=f"q:{item.id}:{max(wanted - 1, 1)}:e")
    # ➕ asks for one more even past what is left: the answer then says why not.
    plus = Button(label="➕", payload=f"q:{item.id}:{min(wanted + 1, 999)}:e")
    text = "\n".join([
        f"{item.name} — {format_money(item.price_cents)} · {availability(item)}",
        _("Quantity: {n} — total {total}").format(
            n=wanted, total=format_money(item.price_cents * wanted)),
        *([only_left(item.available)] if 0 < item.available < asked else []),
    ])
    rows = [
        (minus, plus),  # the count is in the text: a button « 1 » would read as a choice
        (Button(label=_("✅ Reserve {n}").format(n=wanted),
                payload=f"r:{item.id}:{wanted}:{nonce()}"),
         Button(label=_("🧺 Add {n}").format(n=wanted), payload=f"a:{item.id}:{wanted}")),
    ]
    # The ➖/➕ buttons carry ":e": they change the screen in place.
    return [say(text, *rows, back=f"p:{item.id}", edit=len(args) > 2)]


@press("a")
async def add_to_basket(ctx: Context, args: list[str]) -> list[Reply]:
    product_id, wanted = arg(args, 0, "product"), arg(args, 1)
    baskets = await ctx.services.baskets.add(ctx.user.id, product_id, wanted)
    items = sum(b.item_count for b in baskets)
    text = ngettext("Added to your basket ({n} item in all).",
                    "Added to your basket ({n} items in all).", items).format(n=items)
    rows = [(Button(label=_("🧺 See the basket"), payload="b"),
             Button(label=_("🛍 Keep browsing"), payload=f"p:{product_id}"))]
    return [say(text, *rows)]


@press("r")
async def reserve_now(ctx: Context, args: list[str]) -> list[Reply]:
    """Reserve one product at once; the button's nonce makes a double tap harmless."""
    product_id, wanted = arg(args, 0, "product"), arg(args, 1)
    key = "r:" + ":".join(args[:3])
    placed = await ctx.services.reservations.place_now(ctx.user.id, product_id, wanted, key)
    return [await confirmation(ctx, made, tell_shop=await untold(ctx, made, placed.replayed))
            for made in placed.reservations]


async def untold(ctx: Context, made: Reservation, replayed: bool) -> bool:
    """Whether the shop still has to hear of ``made``: yes when it is new, and when a
    replay finds no news of it on its way (the bot stopped between the two)."""
    return not replayed or not await ctx.services.delivery.told_about(made.id)


async def confirmation(ctx: Context, made: Reservation, *, tell_shop: bool) -> Reply:
    """The customer's written proof, and the news for the shop's staff (not again when a
    double tap or a redelivered message confirms the same reservation twice)."""
    pickup = await ctx.shop(made.shop_id)
    if tell_shop:
        await notify_new_reservation(ctx, made)
    rows = [(Button(label=_("📋 My reservations"), payload="rs"),
             Button(label=_("📞 Contact the shop"), payload=f"ct:{pickup.id}"))]
    proof = say(reservation_proof(made, pickup, ctx.tz), *rows)
    return phone_offer.offer(ctx, proof) if ctx.user.phone is None else proof


async def notify_new_reservation(ctx: Context, made: Reservation) -> None:
    from chatshop.conversation.merchant import reservation_for_staff
    for shop_id in sorted(made.shops_to_notify):
        for person in await ctx.services.shops.people_to_notify(shop_id):
            news = await reservation_for_staff(ctx, made, handled_here=shop_id == made.shop_id,
                                               new=True)
            ctx.notify(person, news.model_copy(update={"regarding": made.id}))


# -- search ----------------------------------------------------------------------------


@press("sq")
async def ask_search(ctx: Context, args: list[str]) -> list[Reply]:
    ctx.expect("search")
    return [say(_("What are you looking for? Type a word, e.g. « savon » or « miel ».")) ]


@command("recherche", "chercher")
async def search_command(ctx: Context, args: list[str]) -> list[Reply]:
    if not args or not " ".join(args).strip():
        return await ask_search(ctx, [])
    return await search(ctx, " ".join(args))


@answer("search", Takes.WORDS)
async def search_answer(ctx: Context, text: str) -> list[Reply]:
    """Free text is a search across every shop of the territory."""
    return await search(ctx, text)


async def search(ctx: Context, text: str, offset: int = 0, *,
                 quiet: bool = False) -> list[Reply]:
    """One page of results, or « Did you mean … ? » when nothing is found and a word
    looks mistyped; the query is kept for the ◀️ / ▶️ buttons. ``quiet``: no reply at
    all when nothing is found (the welcome already shows the way on)."""
    query = text.strip()[:100]
    page = await ctx.services.search.search(query, offset=offset, limit=PAGE)
    # The ◀️ / ▶️ buttons carry the query when it fits in a button (no write needed);
    # a long one is kept in the conversation state.
    pattern = f"f:{{}}:{query}"
    if len(pattern.encode()) > 60:
        pattern = "f:{}"
        if page.total > PAGE:
            ctx.state["search"] = query
    if not page.items and quiet:
        return []
    # A typo: ask rather than show another word's results (the guess may be wrong, and
    # the question shows what the catalogue calls it); one tap runs that search.
    suggestion = (await ctx.services.search.suggest(query)
                  if not page.items and offset == 0 else None)
    if suggestion is not None:
        payload = f"f:0:{suggestion}"
        if len(payload.encode()) > 60:
            payload, ctx.state["search"] = "f:0", suggestion
        return [say(_("Nothing found for « {query} ». Did you mean « {suggestion} »?").format(
            query=query, suggestion=suggestion),
            (Button(label=f"🔎 {_short(suggestion, 17)}", payload=payload, answers="yes"),
             Button(label=_("🏘 Shops"), payload="c")))]
    if not page.items:
        return [say(_("Nothing found for « {query} ». Try another word, or browse the "
                      "shops.").format(query=query), (Button(label=_("🏘 Shops"),
                                                            payload="c"),))]
    rows = [(Button(label=f"{_short(item.product.name, 34)} — "
                          f"{format_money(item.product.price_cents)} · "
                          f"{_short(item.pickup_shop_name, 18)}"
                          f"{sold_out_mark(item.product)}",
                    payload=f"p:{item.product.id}"),) for item in page.items]
    text_ = ngettext("{n} result for « {query} »:", "{n} results for « {query} »:",
                     page.total).format(n=page.total, query=query)
    return [say(text_, *rows, _pager(pattern, offset, page.total), edit=offset > 0)]


@press("f")
async def search_page(ctx: Context, args: list[str]) -> list[Reply]:
    query = ":".join(args[1:]) if len(args) > 1 else str(ctx.state.get("search", ""))
    return await search(ctx, query, offset=arg(args, 0))


# -- my reservations -------------------------------------------------------------------


@press("rs")
@command("reservations", "mesreservations")
async def my_reservations(ctx: Context, args: list[str]) -> list[Reply]:
    """The customer's reservations, live ones first, with a cancel button each."""
    found = await ctx.services.reservations.of_customer(ctx.user.id)
    if not found:
        return [say(_("You have no reservation yet."))]
    found.sort(key=lambda r: (not r.status.is_live, -r.created_at.timestamp()))
    texts: list[str] = []
    rows: list[tuple[Button, ...]] = []
    for each in found[:PAGE]:
        pickup = await ctx.shop(each.shop_id)
        texts.append(reservation_summary(each, pickup.name, ctx.tz))
        if each.status.is_live and len(rows) < 4:
            rows.append((Button(label=_("✖️ Cancel {code}").format(code=each.code),
                                payload=f"rx:{each.id}"),))
    return [say("\n\n".join(texts), *rows)]


@press("rx")
async def cancel_ask(ctx: Context, args: list[str]) -> list[Reply]:
    reservation_id = arg(args, 0, "reservation")
    rows = [(Button(label=_("Yes, cancel it"), payload=f"rxy:{reservation_id}",
                    answers="yes"),
             Button(label=_("No, keep it"), payload="rs", answers="no"))]
    return [say(_("Cancel this reservation? The items go back on the shelf."), *rows)]


@press("rxy")
async def cancel(ctx: Context, args: list[str]) -> list[Reply]:
    done = await ctx.services.reservations.cancel_by_customer(ctx.user.id,
                                                              arg(args, 0, "reservation"))
    from chatshop.conversation.merchant import tell_staff
    await tell_staff(ctx, done, _("✖️ {customer} cancelled reservation {code}.").format(
        customer=ctx.user.display_name or _("A customer"), code=done.code))
    return [say(_("Reservation {code} is cancelled.").format(code=done.code))]


# -- notifications to customers --------------------------------------------------------


async def tell_customer(ctx: Context, reservation: Reservation, text: str) -> None:
    customer = await ctx.services.customers.get(reservation.user_id)
    if customer is not None:
        ctx.notify(customer, say(text, (Button(label=_("📋 My reservations"),
                                                payload="rs"),)).model_copy(
            update={"regarding": reservation.id}))


def customer_news(reservation: Reservation, shop_name: str) -> str:
    """What the customer is told when the shop moves their reservation."""
    if reservation.status is ReservationStatus.READY:
        return _("✅ Your reservation {code} is ready at {shop}. Payment in the shop.").format(
            code=reservation.code, shop=shop_name)
    if reservation.status is ReservationStatus.CANCELLED_BY_SHOP:
        return _("✖️ {shop} cancelled your reservation {code}: {reason}").format(
            shop=shop_name, code=reservation.code, reason=reservation.cancel_reason or "")
    if reservation.status is ReservationStatus.EXPIRED:
        return _("⌛ Your reservation {code} at {shop} has expired; the items went back on "
                 "the shelf.").format(code=reservation.code, shop=shop_name)
    return _("🤝 Thank you! Reservation {code} is collected.").format(code=reservation.code)


# -- my data ---------------------------------------------------------------------------


@press("ex")
@command("mesdonnees")
async def export_data(ctx: Context, args: list[str]) -> list[Reply]:
    """Everything chatshop keeps about this person, as a file."""
    data = await ctx.services.customers.export(ctx.user.id)
    reply = say(_("Here is everything we keep about you."))
    return [reply.model_copy(update={"document": Document(
        file_name="mes-donnees-chatshop.json", data=data, mime_type="application/json")})]


@press("er")
@command("effacer")
async def erase_ask(ctx: Context, args: list[str]) -> list[Reply]:
    rows = [(Button(label=_("Yes, erase my data"), payload="ery", answers="yes"),
             Button(label=_("No"), payload="m", answers="no"))]
    text = _("Erase your data? Your live reservations will be cancelled and your "
             "name and phone number forgotten.")
    if ctx.shop_ids:
        names = ", ".join([(await ctx.shop(shop_id)).name for shop_id in ctx.shop_ids])
        text += "\n\n" + _("⚠️ You will also leave the team of: {shops}.").format(shops=names)
    return [say(text, *rows)]


@press("ery")
async def erase(ctx: Context, args: list[str]) -> list[Reply]:
    ran = [await ctx.shop(shop_id) for shop_id in ctx.shop_ids]
    cancelled = await ctx.services.customers.erase(ctx.user.id)
    from chatshop.conversation.merchant import tell_staff
    for each in cancelled:
        await tell_staff(ctx, each, _("✖️ Reservation {code} was cancelled by the "
                                      "customer.").format(code=each.code))
    for shop in ran:  # the operators can invite someone else to run it
        left = await ctx.services.shops.people_to_notify(shop.id)
        text = _("ℹ️ {name} erased their data and left the team of the shop « {shop} ».").format(
            name=ctx.user.display_name or "?", shop=shop.name)
        if not left:
            text += "\n" + _("Nobody runs this shop any more: invite someone from "
                              "/territoire.")
        ctx.notifications += to_operators(ctx.services, text)
    ctx.state.clear()
    return [say(_("Your data has been erased. Goodbye, and thank you!"))]


def _pager(pattern: str, offset: int, total: int) -> tuple[Button, ...]:
    """◀️ / ▶️ buttons around a page of ``PAGE`` items (``pattern`` takes the offset)."""
    buttons = []
    if offset > 0:
        buttons.append(Button(label=_("◀️ Previous"), payload=pattern.format(
            max(offset - PAGE, 0))))
    if offset + PAGE < total:
        buttons.append(Button(label=_("Next ▶️"), payload=pattern.format(offset + PAGE)))
    return tuple(buttons)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def person_name(person: User | None) -> str:
    return (person.display_name if person else "") or _("A customer")
