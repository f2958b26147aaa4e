"""Links that open the bot on a shop or a product, and the addresses of the public shop
window's pages, for Facebook posts, posters and the chat.

Telegram: ``https://t.me/<bot>?start=<payload>`` with payloads the conversation reads on
``/start``: ``s_<slug>`` for a shop, ``p_<id>`` for a product (at most 64 characters of
``A-Za-z0-9_-``: slugs are at most 40). WhatsApp: ``https://wa.me/<number>?text=...``
opens a chat with the message « Bonjour ! p_12 » ready to send, which the WhatsApp
channel reads as the same payload. The shop window (``chatshop.web``): ``/boutique/<slug>``
and ``/produit/<id>-<name's slug>`` under ``CHATSHOP_PUBLIC_URL``.

``Links`` holds what the addresses are made from, once per process: the window's public
address, the bot's Telegram username (learnt from Telegram at start when the settings do
not give it) and the WhatsApp business number. Each may be unknown; a link that cannot be
made is ``None`` and is left out where it would be shown.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from chatshop.domain.codes import slugify
from chatshop.domain.limits import MAX_PAGE_SIZE
from chatshop.domain.models import ListedProduct, Page, Product, Shop, every_item
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


def shop_path(shop: Shop) -> str:
    """The shop's page in the window, from its root: ``/boutique/<slug>``."""
    return f"/boutique/{shop.slug}"


def product_path(product: Product) -> str:
    """The product's page: ``/produit/<id>-<slug of its name>`` (the id is what counts;
    the name only makes the address readable, and a renamed product's old address still
    leads to it)."""
    return f"/produit/{product.id}-{slugify(product.name, max_length=60)}"


@dataclass
class Links:
    """The addresses of one territory: ``public_url`` is the window's root as people
    reach it (``https://vitrine.example.fr``, no trailing slash), ``telegram_bot`` the
    bot's username (without @), ``whatsapp_number`` the business number."""

    public_url: str | None = None
    telegram_bot: str | None = None
    whatsapp_number: str | None = None

    def __post_init__(self) -> None:
        if self.public_url is not None:
            self.public_url = self.public_url.rstrip("/") or None
        if self.telegram_bot is not None:
            self.telegram_bot = self.telegram_bot.lstrip("@") or None

    def page(self, path: str) -> str | None:
        """The absolute address of a window page, when the window's address is known."""
        return None if self.public_url is None else self.public_url + path

    def shop_page(self, shop: Shop) -> str | None:
        return self.page(shop_path(shop))

    def product_page(self, product: Product) -> str | None:
        return self.page(product_path(product))

    def telegram(self, payload: str) -> str | None:
        """``https://t.me/<bot>?start=<payload>``, when the bot's username is known."""
        return None if self.telegram_bot is None else telegram_link(self.telegram_bot,
                                                                     payload)

    def whatsapp(self, payload: str) -> str | None:
        """``https://wa.me/<number>?text=Bonjour ! <payload>``, when the number is known."""
        return None if not self.whatsapp_number else whatsapp_link(self.whatsapp_number,
                                                                    payload)


def shop_payload(shop: Shop) -> str:
    return f"s_{shop.slug}"


def product_payload(product: ListedProduct) -> str:
    return f"p_{product.product.id}"


async def territory_links(services: Services, links: Links) -> list[str]:
    """One line per shop, then one per product it offers: « name — links », its links
    being the ones ``links`` can make: Telegram, WhatsApp, then its page in the shop
    window (just the name when none can be made)."""
    def line(name: str, *found: str | None) -> str:
        known = [each for each in found if each is not None]
        return f"{name} — {'  '.join(known)}" if known else name

    lines: list[str] = []
    shops = await every_item(lambda offset: services.shops.browse(offset=offset,
                                                                  limit=MAX_PAGE_SIZE))
    for shop in shops:
        payload = shop_payload(shop)
        lines.append(line(shop.name, links.telegram(payload), links.whatsapp(payload),
                          links.shop_page(shop)))
        for listed in await every_item(_catalogue_of(services, shop.id)):
            payload = product_payload(listed)
            lines.append("    " + line(listed.product.name, links.telegram(payload),
                                       links.whatsapp(payload),
                                       links.product_page(listed.product)))
    return lines


def _catalogue_of(services: Services, shop_id: int
                  ) -> Callable[[int], Awaitable[Page[ListedProduct]]]:
    """The pages of one shop's catalogue, by offset."""
    async def page(offset: int) -> Page[ListedProduct]:
        return await services.catalogue.shop_catalogue(shop_id, offset=offset,
                                                       limit=MAX_PAGE_SIZE)
    return page
