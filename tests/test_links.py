"""The links that open the bot on a shop or a product (for posters and posts), read from
every page of the shops and their catalogues."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from chatshop.domain.models import Page, every_item
from chatshop.services.links import (
    Links,
    shop_payload,
    telegram_link,
    territory_links,
    whatsapp_link,
)
from tests.conftest import Territory


async def test_every_product_of_a_long_catalogue_gets_its_links(territory: Territory) -> None:
    products = [await territory.product(f"Savon n° {n:02d}", on_hand=1) for n in range(53)]

    lines = await territory_links(territory.services, Links(
        telegram_bot="chatshop_test_bot", whatsapp_number="+33 6 12 34 56 78"))

    assert lines[0] == (f"{territory.shop.name} — "
                        f"https://t.me/chatshop_test_bot?start={shop_payload(territory.shop)}"
                        "  https://wa.me/33612345678?text=Bonjour%20%21%20s_epicerie-du-chateau")
    assert len(lines) == 1 + 53  # past the 50 of one page
    assert sorted(line.split(" — ")[0].strip() for line in lines[1:]) == \
        sorted(p.name for p in products)
    assert all(f"?start=p_{p.id}" in "".join(lines) for p in products)


def test_a_payload_that_a_platform_would_refuse_is_never_linked() -> None:
    with pytest.raises(ValueError, match="deep-link payload"):
        telegram_link("chatshop_test_bot", "p 12")
    with pytest.raises(ValueError, match="deep-link payload"):
        whatsapp_link("0612345678", "é" * 3)
    assert telegram_link("@chatshop_test_bot", "p_12") == \
        "https://t.me/chatshop_test_bot?start=p_12"


async def test_reading_every_page_stops_at_the_last_one_or_at_an_empty_one() -> None:
    asked: list[int] = []

    def pages(items: list[int], total: int) -> Callable[[int], Awaitable[Page[int]]]:
        async def page_of(offset: int) -> Page[int]:
            asked.append(offset)
            return Page[int](items=tuple(items[offset:offset + 2]), total=total,
                             offset=offset, limit=2)
        return page_of

    assert await every_item(pages([1, 2, 3, 4, 5], 5)) == [1, 2, 3, 4, 5]
    assert asked == [0, 2, 4]
    asked.clear()
    # The list shrank after its total was counted: no endless asking for a page past it.
    assert await every_item(pages([1, 2, 3], 5)) == [1, 2, 3]
    assert asked == [0, 2, 3]
    asked.clear()
    assert await every_item(pages([], 0)) == []
    assert asked == [0]
