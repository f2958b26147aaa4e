"""The products' CSV export of a large shop is read and written a page at a time (issue
#13: a shop of 5 000 products is never all in memory), and a normal shop's file is the
same, byte for byte, as before: French Excel's (BOM, « ; », decimal commas, CRLF)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from chatshop.domain.models import Product, ProductChanges
from chatshop.domain.product_csv import ProductsCsv, products_csv
from chatshop.services import catalogue as catalogue_service
from tests.conftest import Territory

# The file chatshop wrote for this shop before the export was paged (a2434d4).
BEFORE = (
    "\ufeffid;nom;prix;stock;catégorie;description;masqué\r\n"
    "3;\"'=Savon; spécial\";6,50;0;;;non\r\n"
    "4;Confiture « extra »;4,20;3;Alimentation;;oui\r\n"
    "2;Éclair au café;2,00;5;;;non\r\n"
    "1;Miel de châtaignier;8,50;10;Alimentation;\"Pot de 500 g.\nRécolte 2026; bio.\";non\r\n"
).encode()


async def normal_shop(territory: Territory) -> None:
    food = next(c for c in await territory.services.catalogue.categories()
                if c.name == "Alimentation")
    await territory.product("Miel de châtaignier", 850, on_hand=10, category_id=food.id,
                            description="Pot de 500 g.\nRécolte 2026; bio.")
    await territory.product("Éclair au café", 200, on_hand=5)
    await territory.product("=Savon; spécial", 650, on_hand=0)
    jam = await territory.product("Confiture « extra »", 420, on_hand=3, category_id=food.id)
    await territory.services.catalogue.update_product(territory.owner, jam.id,
                                                      ProductChanges(hidden=True))


async def test_a_normal_shops_export_is_the_same_file_as_before(territory: Territory) -> None:
    await normal_shop(territory)

    exported = await territory.services.catalogue.export_products(
        territory.owner, territory.shop.id)

    assert exported == BEFORE


def big_shop_file(count: int) -> bytes:
    lines = ["nom;prix;stock"] + [f"Produit {n:05d};{n % 90 + 1},50;{n % 7}"
                                  for n in range(count, 0, -1)]
    return ("\r\n".join(lines) + "\r\n").encode()


async def test_a_large_shops_export_reads_a_page_and_writes_it_before_reading_the_next(
        territory: Territory, monkeypatch: pytest.MonkeyPatch) -> None:
    catalogue = territory.services.catalogue
    await catalogue.import_products(territory.owner, territory.shop.id, big_shop_file(1_200))
    store = catalogue._store.catalogue  # type: ignore[attr-defined]
    events: list[tuple[str, int]] = []
    read = store.products_by_id

    async def reading(product_ids: Sequence[int]) -> list[Product]:
        found: list[Product] = await read(product_ids)
        events.append(("read", len(found)))
        return found

    class Writing(ProductsCsv):
        def add(self, products: Sequence[Product]) -> None:  # type: ignore[override]
            products = list(products)
            events.append(("written", len(products)))
            super().add(products)

    monkeypatch.setattr(store, "products_by_id", reading)
    monkeypatch.setattr(catalogue_service, "ProductsCsv", Writing)

    exported = await catalogue.export_products(territory.owner, territory.shop.id)

    assert events == [("read", 500), ("written", 500), ("read", 500), ("written", 500),
                      ("read", 200), ("written", 200)]
    every = await catalogue.every_product(territory.owner, territory.shop.id)
    assert exported == products_csv(every, await catalogue.categories())
    lines = exported.decode("utf-8-sig").split("\r\n")
    assert len(lines) == 1 + 1_200 + 1  # the header, the products, the end of the last line
    assert lines[1].split(";")[1:] == ["Produit 00001", "2,50", "1", "", "", "non"]
    assert lines[-2].split(";")[1:] == ["Produit 01200", "31,50", "3", "", "", "non"]
