"""Links that open the bot on a shop or a product, for Facebook posts and posters.

Telegram: ``https://t.me/<bot>?start=<payload>`` with payloads the conversation reads on
``/start``: ``s_<slug>`` for a shop, ``p_<id>`` for a product (at most 64 characters of
``A-Za-z0-9_-``: slugs are at most 40). WhatsApp: ``https://wa.me/<number>?text=...``
opens a chat with the message « Bonjour ! p_12 » ready to send, which the WhatsApp
channel reads as the same payload.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from chatshop.domain.limits import MAX_PAGE_SIZE
from chatshop.domain.models import ListedProduct, Page, Shop, every_item
from chatshop.services import Services

_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


def telegram_link(bot_username: str, payload: str) -> str:
    if not _PAYLOAD.fullmatch(payload):
        raise ValueError(f"not a deep-link payload: {payload!r}")
    return f"https://t.me/{bot_username.lstrip('@')}?start={payload}"


def whatsapp_link(number: str, payload: str) -> str:
    if not _PAYLOAD.fullmatch(payload):
        raise ValueError(f"not a deep-link payload: {payload!r}")
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"https://wa.me/{digits}?text={quote('Bonjour ! ' + payload)}"


def shop_payload(shop: Shop) -> str:
    return f"s_{shop.slug}"


def product_payload(product: ListedProduct) -> str:
    return f"p_{product.product.id}"


async def territory_links(services: Services, bot_username: str | None,
                          whatsapp_number: str | None = None) -> list[str]:
    """One line per shop, then one per product it offers: « name — links »."""
    def links(payload: str) -> str:
        found = []
        if bot_username:
            found.append(telegram_link(bot_username, payload))
        if whatsapp_number:
            found.append(whatsapp_link(whatsapp_number, payload))
        return "  ".join(found)

    lines: list[str] = []
    shops = await every_item(lambda offset: services.shops.browse(offset=offset,
                                                                  limit=MAX_PAGE_SIZE))
    for shop in shops:
        lines.append(f"{shop.name} — {links(shop_payload(shop))}")
        for listed in await every_item(_catalogue_of(services, shop.id)):
            lines.append(f"    {listed.product.name} — {links(product_payload(listed))}")
    return lines



def _catalogue_of(services: Services, shop_id: int
                  ) -> Callable[[int], Awaitable[Page[ListedProduct]]]:
    """The pages of one shop's catalogue, by offset."""
    async def page(offset: int) -> Page[ListedProduct]:
        return await services.catalogue.shop_catalogue(shop_id, offset=offset,
                                                       limit=MAX_PAGE_SIZE)
    return page
