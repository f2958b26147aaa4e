"""Making a shop known outside the chat: « 🔗 Partager ma boutique » (its addresses on the
web, on Telegram and on WhatsApp, and a text ready to paste on Facebook), the A4 poster
for the shop window and the sheet of shelf labels (PDF documents, drawn by
``chatshop.printing.posters``), and the operator's poster of the whole territory.

A shop's poster and labels are for its staff (and the operator): the services re-check
it on every press, as every shopkeeper action does. A shop the operator deactivated has
no page to lead to: it is said, and nothing is made.
"""

from __future__ import annotations

from chatshop.conversation.context import Context, say
from chatshop.conversation.handlers import handles
from chatshop.conversation.merchant import dashboard, my_shop
from chatshop.conversation.messages import Button, Document, Reply
from chatshop.conversation.routes import (
    ADD_PRODUCT,
    DASHBOARD,
    LABELS,
    POSTER,
    SHARE,
    SHOP_ADMIN,
    TERRITORY,
    TERRITORY_POSTER,
)
from chatshop.domain.codes import slugify
from chatshop.domain.models import Shop
from chatshop.errors import NotAllowed
from chatshop.i18n import _, format_number, ngettext
from chatshop.printing import Imprint
from chatshop.printing.posters import shelf_labels, shop_poster, territory_poster
from chatshop.services.links import shop_payload

PDF = "application/pdf"
OFFERS = 4  # categories (or products) named in the Facebook text


def imprint_of(ctx: Context) -> Imprint:
    """Whom the printed sheets speak for, as the conversation knows it."""
    return Imprint(territory=ctx.territory, links=ctx.links, clock=ctx.services.clock)


async def _shop_of_staff(ctx: Context, shop: int | None) -> Shop | list[Reply]:
    """The shop a button or a command names, once the services know this person runs
    it; the choice of shop when they run several and named none; or, for a shop that
    customers cannot see, the screen saying so."""
    shop_id = await my_shop(ctx, shop)
    if shop_id is None:
        if not ctx.shop_ids:
            raise NotAllowed("not staff anywhere")
        return await dashboard(ctx)  # « Which shop? »
    await ctx.services.shops.staff(ctx.actor, shop_id)
    found = await ctx.services.shops.get(shop_id)
    if not found.active:
        return [say(_("Your shop is not shown to customers at the moment (the territory's "
                      "operator has deactivated it): its links would lead nowhere. Ask "
                      "the operator to reactivate it."), back=_way_back(ctx, found.id))]
    return found


def _way_back(ctx: Context, shop_id: int) -> str:
    """« Retour »: to the dashboard for the shop's staff, to the shop's page of the
    territory's screens for the operator (who is not on its team)."""
    return DASHBOARD.payload(shop=shop_id) if shop_id in ctx.shop_ids \
        else SHOP_ADMIN.payload(shop=shop_id)


def _from_print(ctx: Context, shop_id: int) -> str:
    """« Retour » under a poster: to the share screen it was asked from (the operator's
    to the shop's page of the territory's screens)."""
    return SHARE.payload(shop=shop_id) if shop_id in ctx.shop_ids \
        else SHOP_ADMIN.payload(shop=shop_id)


def _print_buttons(shop_id: int) -> tuple[Button, ...]:
    return (POSTER.button(_("🖨 Poster"), shop=shop_id),
            LABELS.button(_("🏷 Labels"), shop=shop_id))


@handles(SHARE, "partager")
async def share(ctx: Context, shop: int | None = None) -> list[Reply]:
    """The shop's addresses to pass on, and a text ready to paste on Facebook (alone in
    its own message, so that a long press copies it and nothing else)."""
    found = await _shop_of_staff(ctx, shop)
    if not isinstance(found, Shop):
        return found
    payload = shop_payload(found)
    web = ctx.links.shop_page(found)
    telegram, whatsapp = ctx.links.telegram(payload), ctx.links.whatsapp(payload)
    lines = [_("🔗 {shop}: your addresses to pass on").format(shop=found.name)]
    if web is None and telegram is None and whatsapp is None:
        lines += ["", _("No link can be made for your shop yet: the territory's operator "
                        "has to set the address of the shops' website "
                        "(CHATSHOP_PUBLIC_URL) and the bot's Telegram name "
                        "(CHATSHOP_TELEGRAM_USERNAME) or its WhatsApp number "
                        "(CHATSHOP_WHATSAPP_NUMBER). Until then, customers find you in "
                        "the bot under « 🏘 Shops »."),
                  "", _("You can already print your poster and your shelf labels.")]
        return [say("\n".join(lines), _print_buttons(found.id),
                    back=_way_back(ctx, found.id))]
    if web is not None:
        lines.append(_("🌐 On the web: {url}").format(url=web))
    if telegram is not None:
        lines.append(_("✈️ On Telegram: {url}").format(url=telegram))
    if whatsapp is not None:
        lines.append(_("💬 On WhatsApp: {url}").format(url=whatsapp))
    lines += ["", _("Paste one into a message, a Facebook group or an e-mail: it opens "
                    "your shop, where people reserve.")]
    if web is None:
        lines.append(_("(Your web page, whose link shows your photo on Facebook, comes "
                       "once the operator has set the website's address, "
                       "CHATSHOP_PUBLIC_URL.)"))
    lines += ["", _("Below, a text ready for Facebook: press and hold it to copy it.")]
    # The addresses are in the text, where both platforms make them tappable and a long
    # press copies them; the post follows alone, its buttons under it.
    post = await facebook_text(ctx, found, web or telegram or whatsapp or "")
    return [say("\n".join(lines)),
            say(post, _print_buttons(found.id), back=_way_back(ctx, found.id))]


async def facebook_text(ctx: Context, shop: Shop, link: str) -> str:
    """A few lines in French for a Facebook post: the shop and its commune, what it
    offers (its categories, else a few of its products), where it is, and the link."""
    commune = await ctx.services.shops.commune(shop.commune_id)
    lines = [_("🏪 {shop}, {commune}").format(shop=shop.name, commune=commune.name)
             if commune else f"🏪 {shop.name}"]
    offers = await _offers(ctx, shop)
    if offers:
        lines.append(f"🛍 {offers}")
    elif shop.description:
        lines.append(shop.description.splitlines()[0][:200])
    if shop.address:
        lines.append(f"📍 {shop.address}")
    lines.append(_("✅ Reserve online, pay in the shop: {link}").format(link=link))
    return "\n".join(lines)


async def _offers(ctx: Context, shop: Shop) -> str:
    """« Épicerie, Miel, Savons — 12 produits à réserver »: the categories the shop has
    products in, else the names of its first products, and how many it shows; empty
    when it shows none yet."""
    page = await ctx.services.catalogue.shop_catalogue(shop.id, limit=OFFERS + 1)
    if not page.items:
        return ""
    names = [category.name for category, _count
             in await ctx.services.catalogue.shop_categories(shop.id)]
    if len(names) < 2:
        names = [listed.product.name for listed in page.items]
    shown = ", ".join(names[:OFFERS]) + ("…" if len(names) > OFFERS else "")
    return ngettext("{offers} — {n} product to reserve", "{offers} — {n} products to reserve",
                    page.total).format(offers=shown, n=format_number(page.total))


def _pdf(reply: Reply, file_name: str, data: bytes) -> Reply:
    return reply.model_copy(update={"document": Document(file_name=file_name, data=data,
                                                         mime_type=PDF)})


@handles(POSTER, "affiche")
async def poster(ctx: Context, shop: int | None = None) -> list[Reply]:
    """The A4 poster for the shop window, as a PDF: its QR codes open the shop."""
    found = await _shop_of_staff(ctx, shop)
    if not isinstance(found, Shop):
        return found
    data = await shop_poster(ctx.services, imprint_of(ctx), found.id)
    text = _("🖨 {shop}: the A4 poster. Print it and put it up in your shop window: "
             "passers-by scan its QR codes to find your shop and reserve.").format(
        shop=found.name)
    back = _from_print(ctx, found.id)
    rows = (LABELS.button(_("🏷 Labels"), shop=found.id),)
    return [_pdf(say(text, rows, back=back), f"affiche-{found.slug}.pdf", data)]


@handles(LABELS, "etiquettes")
async def labels(ctx: Context, shop: int | None = None) -> list[Reply]:
    """The A4 sheet of shelf labels, as a PDF: name, price and a QR code each."""
    found = await _shop_of_staff(ctx, shop)
    if not isinstance(found, Shop):
        return found
    back = _from_print(ctx, found.id)
    shown = await ctx.services.catalogue.shop_catalogue(found.id, limit=1)
    if not shown.items:
        return [say(_("No product on show yet: the labels are made from your products."),
                    (ADD_PRODUCT.button(_("➕ Add a product"), shop=found.id),), back=back)]
    data = await shelf_labels(ctx.services, imprint_of(ctx), found.id)
    sheets = _pages_of(data)
    text = ngettext("🏷 {shop}: the A4 sheet of shelf labels. Print it, cut the labels and "
                    "put each beside its product: its QR code opens the product in the bot, "
                    "ready to reserve.",
                    "🏷 {shop}: the {n} A4 sheets of shelf labels. Print them, cut the labels "
                    "and put each beside its product: its QR code opens the product in the "
                    "bot, ready to reserve.", sheets).format(shop=found.name, n=sheets)
    rows = (POSTER.button(_("🖨 Poster"), shop=found.id),)
    return [_pdf(say(text, rows, back=back), f"etiquettes-{found.slug}.pdf", data)]


def _pages_of(pdf: bytes) -> int:
    """How many pages a PDF of ours has: fpdf2 writes each page as an object of its own
    with ``/Type /Page`` on a line (the page tree is ``/Type /Pages``)."""
    return max(1, pdf.count(b"/Type /Page\n"))


@handles(TERRITORY_POSTER)
async def the_territory_s_poster(ctx: Context) -> list[Reply]:
    """The operator's A4 poster of the whole territory, as a PDF."""
    if not ctx.is_operator:
        raise NotAllowed("territory poster", needs="operator")
    data = await territory_poster(ctx.services, imprint_of(ctx))
    text = _("🖨 {territory}: the A4 poster of the territory, for the tourism office, the "
             "town hall, the market. Its QR codes open the bot on the territory's "
             "shops.").format(territory=ctx.territory)
    return [_pdf(say(text, back=TERRITORY.payload()),
                 f"affiche-{slugify(ctx.territory, max_length=60)}.pdf", data)]
