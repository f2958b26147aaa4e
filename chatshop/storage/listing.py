"""What a listed product is, for every read that shows products to customers (the
catalogue's pages, the search, the window, the digest, the sitemap, the channel)."""

from __future__ import annotations

import sqlite3

from chatshop.domain.models import ListedProduct
from chatshop.storage import rows

# A product is listed at its pickup shop (its host when hosted, else its maker) when it
# is not hidden, both shops are active, and any hosting agreement is accepted.
LISTED_JOINS = """
    JOIN shops maker ON maker.id = p.shop_id
    JOIN shops pickup ON pickup.id = COALESCE(p.host_shop_id, p.shop_id)
    JOIN communes c ON c.id = pickup.commune_id
    LEFT JOIN hostings h ON h.host_shop_id = p.host_shop_id AND h.maker_shop_id = p.shop_id
"""
VISIBLE = """p.hidden = 0 AND p.deleted_at IS NULL AND maker.active = 1 AND pickup.active = 1
    AND (p.host_shop_id IS NULL OR h.status = 'accepted')"""
LISTED = f"FROM products p {LISTED_JOINS} WHERE {VISIBLE}"
# A product's pickup shop, as the index products_by_pickup has it: a shop's page says
# ``{PICKUP} = :shop`` (``pickup.id = :shop`` would read every product to find its own).
PICKUP = "COALESCE(p.host_shop_id, p.shop_id)"
LISTED_COLUMNS = ("p.*, maker.name AS maker_name, pickup.name AS pickup_shop_name,"
                  f" c.name AS commune_name, {rows.PRODUCT_PHOTOS}")


def listed_products(found: list[sqlite3.Row]) -> list[ListedProduct]:
    """Rows read with ``LISTED_COLUMNS`` as the customer's listed products."""
    return [
        ListedProduct(product=rows.product(r), maker_name=r["maker_name"],
                      pickup_shop_name=r["pickup_shop_name"], commune_name=r["commune_name"])
        for r in found
    ]
