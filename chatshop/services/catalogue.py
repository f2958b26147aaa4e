"""What shops sell: categories, products, photos, placement at a host shop, and stock."""

from __future__ import annotations

from collections.abc import AsyncIterator

from chatshop.clock import Clock
from chatshop.domain.limits import MAX_PRICE_CENTS, MAX_STOCK
from chatshop.domain.models import (
    Actor,
    Category,
    Channel,
    HostingStatus,
    ListedProduct,
    NewProduct,
    Page,
    Product,
    ProductChanges,
    StockMovement,
    StockReason,
)
from chatshop.domain.parsing import (
    StockChange,
    check_id,
    check_photo,
    check_quantity,
    check_stock,
    clean_description,
    clean_name,
    page_window,
    stock_refusal,
)
from chatshop.domain.product_csv import (
    ImportReport,
    ProductsCsv,
    parse_products_csv,
)
from chatshop.errors import InvalidInput, NotFound
from chatshop.i18n import _
from chatshop.services.access import Access
from chatshop.storage.interface import Store

CATEGORY_NAME_MAX = 40
MAX_POSITION = 10_000
EXPORT_PAGE = 500  # products read at a time for the CSV export


class CatalogueService:
    def __init__(self, store: Store, access: Access, clock: Clock) -> None:
        self._store = store
        self._access = access
        self._clock = clock

    # -- categories (territory-wide, edited by the operator) --------------------------

    async def categories(self) -> list[Category]:
        return await self._store.catalogue.categories()

    async def add_category(self, actor: Actor, name: str) -> Category:
        self._access.require_operator(actor)
        return await self._store.catalogue.save_category(
            clean_name(name, max_length=CATEGORY_NAME_MAX))

    async def edit_category(self, actor: Actor, category_id: int, *, name: str | None = None,
                            position: int | None = None, active: bool | None = None) -> Category:
        """Rename, move or (de)activate a category; its products keep it."""
        self._access.require_operator(actor)
        current = await self._store.catalogue.category(check_id(category_id, "category"))
        if current is None:
            raise NotFound("category", category_id)
        if position is not None and not 0 <= position <= MAX_POSITION:
            raise InvalidInput(_("The position must be between 0 and {max}.").format(
                max=MAX_POSITION))
        return await self._store.catalogue.save_category(
            clean_name(name, max_length=CATEGORY_NAME_MAX) if name is not None else current.name,
            category_id=category_id, position=position,
            active=current.active if active is None else active,
        )

    async def _check_category(self, category_id: int | None) -> None:
        if category_id is None:
            return
        category = await self._store.catalogue.category(check_id(category_id, "category"))
        if category is None or not category.active:
            raise NotFound("category", category_id)

    # -- products (managed by their maker's staff) ------------------------------------

    async def add_product(self, actor: Actor, shop_id: int, *, name: str, price_cents: int,
                          description: str = "", category_id: int | None = None,
                          on_hand: int = 0, photo: tuple[Channel, str] | None = None) -> Product:
        await self._access.require_staff(actor, shop_id)
        await self._check_category(category_id)
        check_stock(on_hand)
        new = NewProduct(name=clean_name(name), description=clean_description(description),
                         price_cents=_checked_price(price_cents), category_id=category_id,
                         on_hand=on_hand, photo=None if photo is None else check_photo(*photo))
        return await self._store.catalogue.add_product(shop_id, new, actor.user_id,
                                                       self._clock())

    async def product(self, product_id: int) -> Product:
        product = await self._store.catalogue.get(check_id(product_id, "product"))
        if product is None:
            raise NotFound("product", product_id)
        return product

    async def _managed(self, actor: Actor, product_id: int) -> Product:
        """The product, if ``actor`` runs its maker shop (hosts do not manage it)."""
        product = await self.product(product_id)
        await self._access.require_staff(actor, product.shop_id)
        return product

    async def update_product(self, actor: Actor, product_id: int,
                             changes: ProductChanges) -> Product:
        await self._managed(actor, product_id)
        await self._check_category(changes.category_id)
        tidy = changes.model_copy(update={
            "name": None if changes.name is None else clean_name(changes.name),
            "description": (None if changes.description is None
                            else clean_description(changes.description)),
            "price_cents": (None if changes.price_cents is None
                            else _checked_price(changes.price_cents)),
        })
        return await self._store.catalogue.update_product(product_id, tidy, self._clock())

    async def delete_product(self, actor: Actor, product_id: int) -> Product:
        """Take a product out of the shop for good (refused while it is reserved);
        returns it as it was."""
        await self._managed(actor, product_id)
        return await self._store.catalogue.delete_product(product_id, self._clock())

    async def set_photo(self, actor: Actor, product_id: int, channel: Channel,
                        file_ref: str) -> Product:
        await self._managed(actor, product_id)
        await self._store.catalogue.set_photo(product_id, *check_photo(channel, file_ref))
        return await self.product(product_id)

    async def place(self, actor: Actor, product_id: int, host_shop_id: int | None) -> Product:
        """Display a product at a host shop that accepted this maker (or take it back)."""
        product = await self._managed(actor, product_id)
        if host_shop_id is not None and host_shop_id != product.shop_id:
            hosting = await self._store.shops.hosting(host_shop_id, product.shop_id)
            if hosting is None or hosting.status is not HostingStatus.ACCEPTED:
                raise InvalidInput(_("That shop has not agreed to host your products."))
        else:
            host_shop_id = None
        return await self._store.catalogue.place(product_id, host_shop_id, self._clock())

    # -- what customers see -----------------------------------------------------------

    async def listed(self, product_id: int) -> ListedProduct:
        """A product card for customers; hidden or withdrawn products are not found."""
        listed = await self._store.catalogue.listed(check_id(product_id, "product"))
        if listed is None:
            raise NotFound("product", product_id)
        return listed

    async def shop_catalogue(self, shop_id: int, *, category_id: int | None = None,
                             offset: int = 0, limit: int = 8) -> Page[ListedProduct]:
        offset, limit = page_window(offset, limit)
        return await self._store.catalogue.shop_catalogue(
            check_id(shop_id, "shop"),
            category_id=None if category_id is None else check_id(category_id, "category"),
            offset=offset, limit=limit)

    async def shop_categories(self, shop_id: int) -> list[tuple[Category, int]]:
        return await self._store.catalogue.shop_categories(check_id(shop_id, "shop"))

    async def maker_products(self, actor: Actor, shop_id: int, *, offset: int = 0,
                             limit: int = 8) -> Page[Product]:
        """The shopkeeper's own list, hidden products included."""
        await self._access.require_staff(actor, shop_id)
        offset, limit = page_window(offset, limit)
        return await self._store.catalogue.products_of_maker(shop_id, offset=offset,
                                                             limit=limit)

    # -- spreadsheets -----------------------------------------------------------------

    async def import_products(self, actor: Actor, shop_id: int, data: bytes) -> ImportReport:
        """A CSV file of products from the shop's staff: every line is checked, then all
        are applied in one transaction (new names created, known names updated), or none."""
        await self._access.require_staff(actor, shop_id)
        lines = parse_products_csv(data, await self.categories())
        created, updated = await self._store.catalogue.import_products(
            shop_id, lines, actor.user_id, self._clock())
        return ImportReport(created=created, updated=updated,
                            unchanged=len(lines) - created - updated)

    async def every_product(self, actor: Actor, shop_id: int) -> list[Product]:
        """Every product the shop makes, hidden ones included (to find one by its name)."""
        await self._access.require_staff(actor, shop_id)
        return [product async for page in self._maker_pages(shop_id) for product in page]

    async def export_products(self, actor: Actor, shop_id: int) -> bytes:
        """Every product the shop makes, hidden ones included, as a CSV file that imports
        back as it is: written a page at a time, so that a shop of 5 000 products is never
        all in memory at once (the file's bytes are)."""
        await self._access.require_staff(actor, shop_id)
        out = ProductsCsv(await self.categories())
        async for page in self._maker_pages(shop_id):
            out.add(page)
        return out.data()

    async def _maker_pages(self, shop_id: int) -> AsyncIterator[list[Product]]:
        """The shop's own products in its order, ``EXPORT_PAGE`` at a time: the ids
        sorted once, then each page read by id (not sorted again for every page)."""
        ids = await self._store.catalogue.maker_product_ids(shop_id)
        for start in range(0, len(ids), EXPORT_PAGE):
            yield await self._store.catalogue.products_by_id(ids[start:start + EXPORT_PAGE])

    # -- stock ------------------------------------------------------------------------

    async def set_stock(self, actor: Actor, product_id: int, on_hand: int) -> Product:
        """Staff counted the shelf: ``on_hand`` becomes this (never below reserved)."""
        await self._managed(actor, product_id)
        check_stock(on_hand)
        return await self._store.catalogue.change_stock(
            product_id, actor.user_id, StockReason.SET, on_hand, self._clock())

    async def change_stock(self, actor: Actor, product_id: int, change: StockChange, *,
                           seen: int | None = None) -> Product:
        """What a shopkeeper typed (``12``, ``+2``, ``-1``), up to ``MAX_STOCK`` units.

        ``seen`` is the ledger line (``last_movement``) the screen offering this change
        was made from: the change then happens once, however often its button is
        pressed, and not at all if someone else changed the stock since
        (``StockChanged``)."""
        await self._managed(actor, product_id)
        reason, quantity = change
        if reason is StockReason.SET:
            check_stock(quantity)
        elif reason not in (StockReason.ADDED, StockReason.REMOVED) \
                or type(quantity) is not int or not 0 < quantity <= MAX_STOCK:
            raise InvalidInput(stock_refusal())
        return await self._store.catalogue.change_stock(
            product_id, actor.user_id, reason, quantity, self._clock(), after=seen)

    async def last_movement(self, actor: Actor, product_id: int) -> int:
        """The product's latest stock ledger line, for a button that changes the stock
        once (see ``change_stock``)."""
        await self._managed(actor, product_id)
        return await self._store.catalogue.last_movement(product_id)

    async def add_stock(self, actor: Actor, product_id: int, quantity: int) -> Product:
        await self._managed(actor, product_id)
        return await self._store.catalogue.change_stock(
            product_id, actor.user_id, StockReason.ADDED, check_quantity(quantity),
            self._clock())

    async def remove_stock(self, actor: Actor, product_id: int, quantity: int) -> Product:
        await self._managed(actor, product_id)
        return await self._store.catalogue.change_stock(
            product_id, actor.user_id, StockReason.REMOVED, check_quantity(quantity),
            self._clock())

    async def stock_history(self, actor: Actor, product_id: int) -> list[StockMovement]:
        await self._managed(actor, product_id)
        return await self._store.catalogue.stock_movements(product_id)


def _checked_price(cents: int) -> int:
    if type(cents) is not int or not 0 < cents <= MAX_PRICE_CENTS:
        raise InvalidInput(_("A price must be between 0,01 € and 10 000 €."))
    return cents
