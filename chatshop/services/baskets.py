"""Baskets: what a customer plans to reserve, one per pickup shop. No stock is held."""

from __future__ import annotations

from chatshop.clock import Clock
from chatshop.domain.models import Basket
from chatshop.domain.parsing import check_quantity
from chatshop.errors import NotFound, OutOfStock
from chatshop.storage.interface import Store


class BasketService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def add(self, user_id: int, product_id: int, quantity: int = 1) -> list[Basket]:
        """Add units of a listed product; refused if more than is available now."""
        check_quantity(quantity)
        listed = await self._store.catalogue.listed(product_id)
        if listed is None:
            raise NotFound("product", product_id)
        in_basket = sum(line.quantity for basket in await self._store.orders.baskets(user_id)
                        for line in basket.lines if line.product.id == product_id)
        product = listed.product
        if in_basket + quantity > product.available:
            raise OutOfStock(product.id, product.name, product.available)
        await self._store.orders.add_to_basket(user_id, product_id, quantity, self._clock())
        return await self.baskets(user_id)

    async def set_quantity(self, user_id: int, product_id: int, quantity: int) -> list[Basket]:
        """Change a line (0 removes it)."""
        if quantity:
            check_quantity(quantity)
        await self._store.orders.set_basket_quantity(user_id, product_id, quantity,
                                                     self._clock())
        return await self.baskets(user_id)

    async def remove(self, user_id: int, product_id: int) -> list[Basket]:
        return await self.set_quantity(user_id, product_id, 0)

    async def baskets(self, user_id: int) -> list[Basket]:
        return await self._store.orders.baskets(user_id)

    async def clear(self, user_id: int, shop_id: int | None = None) -> None:
        """Empty every basket, or only the one for ``shop_id``."""
        if shop_id is None:
            await self._store.orders.clear_basket(user_id)
            return
        for basket in await self.baskets(user_id):
            if basket.shop_id == shop_id:
                await self._store.orders.clear_basket(
                    user_id, [line.product.id for line in basket.lines])
