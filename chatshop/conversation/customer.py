"""What customers do: find a shop or a product, fill a basket, reserve, follow their
reservations, contact a shop, and manage their own data."""

from __future__ import annotations

from chatshop.conversation import phone_offer, pickups
from chatshop.conversation.alerts import alert_on_card, my_alerts_button
from chatshop.conversation.cards import (
    availability,
    on_the_web,
    only_left,
    product_card,
    product_line,
    reservation_proof,
    reservation_summary,
    shop_card,
    sold_out_mark,
)
from chatshop.conversation.context import Context, nonce, pager, say, to_operators
from chatshop.conversation.handlers import Takes, answer, command, handles
from chatshop.conversation.merchant import INVITE_LINK, accept_invite
from chatshop.conversation.messages import Button, Document, Reply, Venue
from chatshop.conversation.notices import (
    my_reservations_button,
    notify_new_reservation,
    tell_staff,
)
from chatshop.conversation.prompts import Search
from chatshop.conversation.routes import (
    ADD_TO_BASKET,
    ASK_SEARCH,
    BASKET,
    CANCEL,
    CANCEL_ASK,
    CATEGORIES,
    COMMUNES,
    CONTACT,
    DASHBOARD,
    ERASE,
    ERASE_ASK,
    EXPORT_DATA,
    HELP,
    MENU,
    MY_RESERVATIONS,
    NEWS,
    PRODUCT,
    PRODUCTS,
    QUANTITY,
    RESERVE_NOW,
    SEARCH_PAGE,
    SHOP,
    SHOPS_IN,
    TERRITORY,
    number,
)
from chatshop.domain.limits import MAX_QUANTITY
from chatshop.domain.models import ListedProduct, Product, Reservation, User
from chatshop.domain.slots import pickup_line
from chatshop.errors import NotFound, OutOfStock
from chatshop.i18n import _, format_money, format_number, ngettext

PAGE = 5  # list items per screen, leaving room for paging and the way on (<= 8 buttons)
SEARCH_ROOM = 60  # bytes: a longer query is kept in the state, not in the ◀️ / ▶️ buttons
QUANTITY_STEPS = (1, 2, 3, 5)
SIMILAR = 3  # products offered instead of a sold-out one


# -- menu, help, welcome ---------------------------------------------------------------


async def menu(ctx: Context) -> Reply:
    items = await ctx.services.baskets.item_count(ctx.user.id)
    rows: list[tuple[Button, ...]] = [
        (ASK_SEARCH.button(_("🔎 Search")), shops_button()),
        (BASKET.button(_("🧺 Basket ({n})").format(n=items)), my_reservations_button()),
    ]
    extra: list[Button] = []
    if ctx.shop_ids:
        extra.append(DASHBOARD.button(_("🏪 My shop")))
    if ctx.is_operator:
        extra.append(TERRITORY.button(_("🛠 Territory")))
    extra.append(NEWS.button(_("📰 News")))
    extra.append(HELP.button(_("❓ Help")))
    rows.append(tuple(extra))
    text = (_("Hello {name}! What would you like to do?").format(name=ctx.user.display_name)
            if ctx.user.display_name else _("Hello! What would you like to do?"))
    text += "\n" + _("You can also simply type what you are looking for, e.g. « miel ».")
    return Reply(text=text, buttons=tuple(rows))


def shops_button() -> Button:
    return COMMUNES.button(_("🏘 Shops"))


@handles(MENU, "menu")
async def show_menu(ctx: Context) -> list[Reply]:
    """The main menu: every screen leads back here."""
    ctx.done_waiting()
    return [await menu(ctx)]


@command("start")
async def start(ctx: Context, args: list[str]) -> list[Reply]:
    """Welcome; a deep link opens a shop (``s_slug``), a product (``p_12``) or an invite."""
    payload = args[0] if args else ""
    if payload.startswith("p_"):
        return await product(ctx, number(payload[2:], "product"))
    if payload.startswith("s_"):
        found = await ctx.services.shops.by_slug(payload[2:])
        return await shop(ctx, found.id)
    if payload.startswith(INVITE_LINK):
        return await accept_invite(ctx, [payload[len(INVITE_LINK):]])
    return [await welcome(ctx)]


def welcome_line(ctx: Context) -> str:
    return _("Welcome to the shops of {territory}! Reserve here, pay and collect in the "
             "shop.").format(territory=ctx.territory)


async def welcome(ctx: Context) -> Reply:
    """The first screen: what the bot is for, and the menu."""
    home = await menu(ctx)
    return home.model_copy(update={"text": welcome_line(ctx) + "\n\n" + home.text})


@handles(HELP, "aide", "help")
async def help_(ctx: Context) -> list[Reply]:
    """How the bot works, in a few lines, under the menu's buttons."""
    home = await menu(ctx)
    return [home.model_copy(update={"text": help_text(ctx)})]


def help_text(ctx: Context) -> str:
    lines = [
        _("ℹ️ How it works"),
        _("• Type what you are looking for (« savon », « miel »...) or browse the shops."),
        _("• Reserve: the shop keeps your items until the time shown."),
        _("• You pay and collect in the shop. No online payment, no delivery."),
        _("• /panier: your basket · /reservations: your reservations · /alertes: your "
          "alerts · /menu: the menu"),
        _("• /nouvelles: the news of the week, if you like · /desabonnement: stop it"),
        _("• /mesdonnees: your data · /effacer: erase your data"),
    ]
    home, legal = ctx.links.page("/"), ctx.links.page("/mentions-legales")
    if home is not None and legal is not None:
        lines.append(_("• The shops on the web: {url}").format(url=home))
        lines.append(_("• Legal notice and personal data: {url}").format(url=legal))
    if ctx.shop_ids:
        lines.append(_("• Shopkeepers: /boutique, /aujourdhui (the day's pickups), /produits, "
                       "/ajouter, /annonce <text>, "
                       "/stock <product> <quantity> (or +2, -1), "
                       "/prix <product> <price>, or send a photo captioned « Savon lavande "
                       "6,50 € x12 »; /reserver <product> x2 pour <name> <phone>: a "
                       "reservation taken by phone; /vendu <product> <quantity>: sold at the "
                       "counter; /chiffres: the last 8 weeks; /partager: your links and a "
                       "text for Facebook; /affiche: a poster for your shop window."))
    if ctx.is_operator:
        lines.append(_("• Operator: /territoire"))
    return "\n".join(lines)


# -- browsing --------------------------------------------------------------------------


@handles(COMMUNES, "boutiques", "communes")
async def communes(ctx: Context, offset: int | None = None) -> list[Reply]:
    """The communes where there are shops, or straight the shops if there is only one."""
    found = await ctx.services.shops.communes_with_shops()
    if len(found) <= 1:
        return await shops_in(ctx, found[0].id if found else 0, 0)
    start = offset or 0
    page = found[start:start + PAGE]
    rows = [(SHOPS_IN.button(f"🏘 {c.name}", commune=c.id, offset=0),) for c in page]
    paging = pager(COMMUNES, start, PAGE, more=start + PAGE < len(found))
    return [say(_("Choose a commune:"), *rows, paging, edit=offset is not None)]


@handles(SHOPS_IN)
async def shops_in(ctx: Context, commune: int, offset: int) -> list[Reply]:
    """The shops of one commune, a page at a time."""
    page = await ctx.services.shops.browse(commune_id=commune or None, offset=offset,
                                           limit=PAGE)
    if not page.items:
        return [say(_("No shop here yet."), back=COMMUNES.payload())]
    rows = [(SHOP.button(f"{'🏖' if s.on_holiday else '🏪'} {s.name}", shop=s.id),)
            for s in page.items]
    # A shop closed for the holidays stays listed, with its word for customers.
    notes = [" ".join(filter(None, ["🏖", _("{shop} is closed for the holidays.").format(
        shop=s.name), s.holiday_message])) for s in page.items if s.on_holiday]
    paging = pager(SHOPS_IN, offset, PAGE, more=offset + PAGE < page.total, commune=commune)
    return [say("\n".join([_("Shops:"), *notes]), *rows, paging, back=COMMUNES.payload(),
                edit=offset > 0)]


@handles(SHOP)
async def shop(ctx: Context, shop: int) -> list[Reply]:
    """A shop's card: hours, open now or not, address, phone, how to collect."""
    found = await ctx.services.shops.get(shop)
    if not found.active:
        raise NotFound("shop", found.id)
    commune = await ctx.services.shops.commune(found.commune_id)
    text = shop_card(found, commune.name if commune else "", ctx.now, ctx.tz)
    rows = [(CATEGORIES.button(_("🛍 Products"), shop=found.id),
             CONTACT.button(_("📞 Contact"), shop=found.id))]
    card = say(text, *rows, back=SHOPS_IN.payload(commune=found.commune_id, offset=0),
               photo=ctx.photo(found.photos))
    return [card.model_copy(update={"link": on_the_web(ctx.links.shop_page(found))})]


@handles(CONTACT)
async def contact(ctx: Context, shop: int) -> list[Reply]:
    """How to reach a shop: phone, address, and the map where the channel has one."""
    found = await ctx.services.shops.get(shop)
    lines = [f"🏪 {found.name}"]
    if found.phone:
        lines.append(f"📞 {found.phone}")
    if found.address:
        lines.append(f"📍 {found.address}")
    reply = say("\n".join(lines), back=SHOP.payload(shop=found.id))
    if found.latitude is not None and found.longitude is not None:
        reply = reply.model_copy(update={"venue": Venue(
            latitude=found.latitude, longitude=found.longitude, title=found.name,
            address=found.address)})
    return [reply]


@handles(CATEGORIES)
async def categories(ctx: Context, shop: int) -> list[Reply]:
    """A shop's categories (straight to the products when there are few)."""
    present = await ctx.services.catalogue.shop_categories(shop)
    if len(present) <= 1:
        return await products(ctx, shop, 0, 0)
    rows = [(PRODUCTS.button(f"{c.name} ({n})", shop=shop, category=c.id, offset=0),)
            for c, n in present[:PAGE]]
    rows.append((PRODUCTS.button(_("Everything"), shop=shop, category=0, offset=0),))
    return [say(_("Which kind of product?"), *rows, back=SHOP.payload(shop=shop))]


@handles(PRODUCTS)
async def products(ctx: Context, shop: int, category: int, offset: int) -> list[Reply]:
    """A page of a shop's products (a category, or all of them)."""
    page = await ctx.services.catalogue.shop_catalogue(
        shop, category_id=category or None, offset=offset, limit=PAGE)
    if not page.items:
        return [say(_("Nothing to show here yet."), back=SHOP.payload(shop=shop))]
    rows = [(PRODUCT.button(product_line(item), product=item.product.id),)
            for item in page.items]
    paging = pager(PRODUCTS, offset, PAGE, more=offset + PAGE < page.total, shop=shop,
                   category=category)
    text = ngettext("{n} product:", "{n} products:", page.total).format(
        n=format_number(page.total))
    return [say(text, *rows, paging, back=CATEGORIES.payload(shop=shop), edit=offset > 0)]


@handles(PRODUCT)
async def product(ctx: Context, product: int) -> list[Reply]:
    """A product card: photo, price, availability; reserve it at once or choose more."""
    listed = await ctx.services.catalogue.listed(product)
    item = listed.product
    rows: list[tuple[Button, ...]] = []
    text = product_card(listed)
    if item.available > 0:
        rows.append((RESERVE_NOW.button(_("✅ Reserve 1 now"), product=item.id, quantity=1,
                                        nonce=nonce()),))
        rows.append((QUANTITY.button(_("🔢 Choose the quantity"), product=item.id, quantity=1),
                     ADD_TO_BASKET.button(_("🧺 Add to basket"), product=item.id, quantity=1)))
    else:  # sold out: what else the shop has, or be told when it is back
        others = await _instead(ctx, item)
        if others:
            text += "\n" + _("Also at {shop}:").format(shop=listed.pickup_shop_name)
        rows += [(PRODUCT.button(product_line(other), product=other.product.id),)
                 for other in others]
        text, alert_row = await alert_on_card(ctx, item, text)
        rows.append(alert_row)
    rows.append((SHOP.button(_("🏪 The shop"), shop=item.pickup_shop_id),))
    card = say(text, *rows, photo=ctx.photo(item.photos))
    return [card.model_copy(update={"link": on_the_web(ctx.links.product_page(item))})]


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


@handles(QUANTITY)
async def quantity(ctx: Context, product: int, quantity: int,
                   edit: str | None = None) -> list[Reply]:
    """The quantity stepper: the count in the text, ➖ ➕ to change it, then reserve or add
    to the basket (edits in place)."""
    listed = await ctx.services.catalogue.listed(product)
    item = listed.product
    asked = quantity
    wanted = max(1, min(asked, max(item.available, 1), MAX_QUANTITY))
    minus = QUANTITY.button("➖", product=item.id, quantity=max(wanted - 1, 1), edit="e")
    # ➕ asks for one more even past what is left: the answer then says why not.
    plus = QUANTITY.button("➕", product=item.id, quantity=min(wanted + 1, MAX_QUANTITY),
                           edit="e")
    text = "\n".join([
        f"{item.name} — {format_money(item.price_cents)} · {availability(item)}",
        _("Quantity: {n} — total {total}").format(
            n=wanted, total=format_money(item.price_cents * wanted)),
        *([only_left(item.available)] if 0 < item.available < asked else []),
    ])
    rows = [
        (minus, plus),  # the count is in the text: a button « 1 » would read as a choice
        (RESERVE_NOW.button(_("✅ Reserve {n}").format(n=wanted), product=item.id,
                            quantity=wanted, nonce=nonce()),
         ADD_TO_BASKET.button(_("🧺 Add {n}").format(n=wanted), product=item.id,
                              quantity=wanted)),
    ]
    # The ➖/➕ buttons carry ``edit``: they change the screen in place.
    return [say(text, *rows, back=PRODUCT.payload(product=item.id), edit=edit is not None)]


@handles(ADD_TO_BASKET)
async def add_to_basket(ctx: Context, product: int, quantity: int) -> list[Reply]:
    """« 🧺 Add to basket »: the basket of the product's pickup shop gets it."""
    baskets = await ctx.services.baskets.add(ctx.user.id, product, quantity)
    items = sum(b.item_count for b in baskets)
    text = ngettext("Added to your basket ({n} item in all).",
                    "Added to your basket ({n} items in all).", items).format(n=items)
    rows = [(see_basket_button(), PRODUCT.button(_("🛍 Keep browsing"), product=product))]
    return [say(text, *rows)]


def see_basket_button() -> Button:
    return BASKET.button(_("🧺 See the basket"))


@handles(RESERVE_NOW)
async def reserve_now(ctx: Context, product: int, quantity: int,
                      nonce: str | None = None) -> list[Reply]:
    """Reserve one product at once; the button's nonce makes a double tap harmless."""
    key = RESERVE_NOW.payload(product=product, quantity=quantity, nonce=nonce)
    try:
        placed = await ctx.services.reservations.place_now(ctx.user.id, product, quantity,
                                                           key)
    except OutOfStock as short:
        if short.available > 0:
            raise
        # Gone again (someone else pressed first): be told when it is back, once more.
        text, alert_row = await alert_on_card(ctx, (await ctx.services.catalogue.product(
            short.product_id)), short.message())
        return [say(text, alert_row, back=PRODUCT.payload(product=short.product_id))]
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
    rows = [(my_reservations_button(),
             CONTACT.button(_("📞 Contact the shop"), shop=pickup.id))]
    proof = say(reservation_proof(made, pickup, ctx.tz), *rows)
    if ctx.user.phone is None:
        proof = phone_offer.offer(ctx, proof)
    asked = await pickups.ask_when(ctx, made)  # #12 G: « Quand passez-vous ? », last
    if asked is not None:  # its slots (and « Je ne sais pas encore ») replace the rows
        proof = asked.model_copy(update={"text": proof.text + "\n\n" + asked.text,
                                         "ask_contact": proof.ask_contact})
    return proof


# -- search ----------------------------------------------------------------------------


@handles(ASK_SEARCH)
async def ask_search(ctx: Context) -> list[Reply]:
    """« 🔎 Search »: the next line typed is what to look for."""
    ctx.expect(Search())
    return [say(_("What are you looking for? Type a word, e.g. « savon » or « miel »."))]


@command("recherche", "chercher")
async def search_command(ctx: Context, args: list[str]) -> list[Reply]:
    """``/recherche miel``: a search (alone: asks what to look for)."""
    if not args or not " ".join(args).strip():
        return await ask_search(ctx)
    return await search(ctx, " ".join(args))


@answer(Search, Takes.WORDS)
async def search_answer(ctx: Context, text: str, waiting: Search) -> list[Reply]:
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
    carried: str | None = query
    if len(SEARCH_PAGE.payload(offset=0, query=query).encode()) > SEARCH_ROOM:
        carried = None
        if page.total > PAGE:
            ctx.state["search"] = query
    if not page.items and quiet:
        return []
    # A typo: ask rather than show another word's results (the guess may be wrong, and
    # the question shows what the catalogue calls it); one tap runs that search.
    suggestion = (await ctx.services.search.suggest(query)
                  if not page.items and offset == 0 else None)
    if suggestion is not None:
        guessed: str | None = suggestion
        if len(SEARCH_PAGE.payload(offset=0, query=suggestion).encode()) > SEARCH_ROOM:
            guessed, ctx.state["search"] = None, suggestion
        return [say(_("Nothing found for « {query} ». Did you mean « {suggestion} »?").format(
            query=query, suggestion=suggestion),
            (SEARCH_PAGE.button(f"🔎 {_short(suggestion, 17)}", offset=0, query=guessed,
                                answers="yes"), shops_button()))]
    if not page.items:
        return [say(_("Nothing found for « {query} ». Try another word, or browse the "
                      "shops.").format(query=query), (shops_button(),))]
    rows = [(PRODUCT.button(f"{_short(item.product.name, 34)} — "
                            f"{format_money(item.product.price_cents)} · "
                            f"{_short(item.pickup_shop_name, 18)}"
                            f"{sold_out_mark(item.product)}", product=item.product.id),)
            for item in page.items]
    if page.capped:  # the search counts up to 200
        text_ = ngettext("More than {n} result for « {query} »:",
                         "More than {n} results for « {query} »:",
                         page.total).format(n=format_number(page.total), query=query)
    else:
        text_ = ngettext("{n} result for « {query} »:", "{n} results for « {query} »:",
                         page.total).format(n=page.total, query=query)
    paging = pager(SEARCH_PAGE, offset, PAGE, more=page.has_next, query=carried)
    return [say(text_, *rows, paging, edit=offset > 0)]


@handles(SEARCH_PAGE)
async def search_page(ctx: Context, offset: int, query: str | None = None) -> list[Reply]:
    """◀️ / ▶️ under search results (a long query is the one kept in the state)."""
    wanted = query if query is not None else str(ctx.state.get("search", ""))
    return await search(ctx, wanted, offset=offset)


# -- my reservations -------------------------------------------------------------------


@handles(MY_RESERVATIONS, "reservations", "mesreservations")
async def my_reservations(ctx: Context) -> list[Reply]:
    """The customer's reservations, live ones first, with a cancel button each."""
    found = await ctx.services.reservations.of_customer(ctx.user.id)
    if not found:
        return [say(_("You have no reservation yet."), (my_alerts_button(),))]
    found.sort(key=lambda r: (not r.status.is_live, -r.created_at.timestamp()))
    texts: list[str] = []
    rows: list[tuple[Button, ...]] = []
    for each in found[:PAGE]:
        pickup = await ctx.shop(each.shop_id)
        texts.append(reservation_summary(each, pickup.name, ctx.tz))
        if each.status.is_live and len(rows) < 3:  # 3 × 2 + alerts + Menu: 8 at most
            when = await pickups.change_button(ctx, each)  # #12 G
            rows.append((CANCEL_ASK.button(_("✖️ Cancel {code}").format(code=each.code),
                                           reservation=each.id),
                         *(() if when is None else (when,))))
        if (planned := pickup_line(each, ctx.tz, now=ctx.now)) is not None:  # #12 G
            texts[-1] += "\n" + planned
    rows.append((my_alerts_button(),))
    return [say("\n\n".join(texts), *rows)]


@handles(CANCEL_ASK)
async def cancel_ask(ctx: Context, reservation: int) -> list[Reply]:
    """« ✖️ Cancel »: asked once more, yes or no."""
    rows = [(CANCEL.button(_("Yes, cancel it"), reservation=reservation, answers="yes"),
             MY_RESERVATIONS.button(_("No, keep it"), answers="no"))]
    return [say(_("Cancel this reservation? The items go back on the shelf."), *rows)]


@handles(CANCEL)
async def cancel(ctx: Context, reservation: int) -> list[Reply]:
    """The customer cancels: the items go back on the shelf, the shop is told."""
    done = await ctx.services.reservations.cancel_by_customer(ctx.user.id, reservation)
    await tell_staff(ctx, done, _("✖️ {customer} cancelled reservation {code}.").format(
        customer=ctx.user.display_name or _("A customer"), code=done.code))
    return [say(_("Reservation {code} is cancelled.").format(code=done.code))]


# -- my data ---------------------------------------------------------------------------


@handles(EXPORT_DATA, "mesdonnees")
async def export_data(ctx: Context) -> list[Reply]:
    """Everything chatshop keeps about this person, as a file."""
    data = await ctx.services.customers.export(ctx.user.id)
    reply = say(_("Here is everything we keep about you."))
    return [reply.model_copy(update={"document": Document(
        file_name="mes-donnees-chatshop.json", data=data, mime_type="application/json")})]


@handles(ERASE_ASK, "effacer")
async def erase_ask(ctx: Context) -> list[Reply]:
    """Erasing one's data is asked once more, and says what goes with it."""
    rows = [(ERASE.button(_("Yes, erase my data"), answers="yes"),
             MENU.button(_("No"), answers="no"))]
    text = _("Erase your data? Your live reservations will be cancelled, your alerts "
             "deleted, and your name and phone number forgotten.")
    if ctx.shop_ids:
        names = ", ".join([(await ctx.shop(shop_id)).name for shop_id in ctx.shop_ids])
        text += "\n\n" + _("⚠️ You will also leave the team of: {shops}.").format(shops=names)
    return [say(text, *rows)]


@handles(ERASE)
async def erase(ctx: Context) -> list[Reply]:
    """Everything about this person is erased; their shops' staff and the operators told."""
    ran = [await ctx.shop(shop_id) for shop_id in ctx.shop_ids]
    cancelled = await ctx.services.customers.erase(ctx.user.id)
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


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def person_name(person: User | None) -> str:
    return (person.display_name if person else "") or _("A customer")
