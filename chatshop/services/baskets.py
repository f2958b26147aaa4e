"""Baskets: what a customer plans to reserve, one per pickup shop. No stock is held."""

from __future__ import annotations

from chatshop.clock import Clock
from chatshop.domain.models import Basket
from chatshop.domain.parsing import check_id, check_quantity
from chatshop.errors import NotFound, OutOfStock
from chatshop.storage.interface import Store


class BasketService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def add(self, user_id: int, product_id: int, quantity: int = 1) -> list[Basket]:
        """Add units of a listed product; refused if more than is available now."""
        check_quantity(quantity)
        in_basket = await self._quantity_in_basket(user_id, product_id)
        await self._check_available(product_id, check_quantity(in_basket + quantity))
        await self._store.orders.add_to_basket(user_id, product_id, quantity, self._clock())
        return await self.baskets(user_id)

    async def set_quantity(self, user_id: int, product_id: int, quantity: int) -> list[Basket]:
        """Change a line (0 removes it); the same checks as adding."""
        check_id(product_id, "product")
        if quantity != 0:
            await self._check_available(product_id, check_quantity(quantity))
        await self._store.orders.set_basket_quantity(user_id, product_id, quantity,
                                                     self._clock())
        return await self.baskets(user_id)

    async def _quantity_in_basket(self, user_id: int, product_id: int) -> int:
        return sum(line.quantity for basket in await self._store.orders.baskets(user_id)
                   for line in basket.lines if line.product.id == product_id)

    async def _check_available(self, product_id: int, quantity: int) -> None:
        """The product is listed and at least ``quantity`` of it is available now."""
        listed = await self._store.catalogue.listed(check_id(product_id, "product"))
        if listed is None:
            raise NotFound("product", product_id)
        product = listed.product
        if quantity > product.available:
            raise OutOfStock(product.id, product.name, product.available)

    async def remove(self, user_id: int, product_id: int) -> list[Basket]:
        return await self.set_quantity(user_id, product_id, 0)

    async def baskets(self, user_id: int) -> list[Basket]:
        return await self._store.orders.baskets(user_id)

    async def item_count(self, user_id: int) -> int:
        """Units in all the customer's baskets: what the menu shows."""
        return await self._store.orders.items_in_baskets(user_id)

    async def clear(self, user_id: int, shop_id: int | None = None) -> None:
        """Empty every basket, or only the one for ``shop_id``."""
        if shop_id is None:
            await self._store.orders.clear_basket(user_id)
            return
        for basket in await self.baskets(user_id):
            if basket.shop_id == shop_id:
                await self._store.orders.clear_basket(
                    user_id, [line.product.id for line in basket.lines])
