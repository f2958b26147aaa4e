-- Ten times the territory (issue #13): no customer's, shopkeeper's or operator's press
-- reads every product or every alert (tests/test_query_plans.py finds those that do).

-- A shop's page lists the products it is the pickup shop of: its own, or those it hosts.
-- (The shop catalogue's queries say COALESCE(p.host_shop_id, p.shop_id) = :shop for it.)
CREATE INDEX products_by_pickup ON products(COALESCE(host_shop_id, shop_id))
    WHERE deleted_at IS NULL;

-- A shop's products with what says whether they are on show: the territory's figures
-- count the listed products from this index alone, not from the table.
DROP INDEX products_by_shop;
CREATE INDEX products_by_shop ON products(shop_id, hidden, deleted_at);

-- A deleted product leaves the baskets it was in.
CREATE INDEX basket_lines_by_product ON basket_lines(product_id);

-- A customer's /alertes, in the order they asked for them; erasing them drops them all.
CREATE INDEX product_alerts_by_user ON product_alerts(user_id, created_at, id);

-- The alerts sender reads the open alerts, oldest first, not every product.
CREATE INDEX product_alerts_due ON product_alerts(created_at, id) WHERE told_at IS NULL;
