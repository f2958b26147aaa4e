"""The limits of the territory's data, in one place: what a price, a quantity, a stock,
a name or a page may be. Parsers, models, services and the schema agree on these."""

MAX_PRICE_CENTS = 1_000_000  # 10 000,00 €
MIN_QUANTITY = 1
MAX_QUANTITY = 999  # of one product, in a basket line or a reservation line
MAX_STOCK = 100_000  # units on hand of one product
PRODUCT_NAME_MAX = 80
PRODUCT_DESCRIPTION_MAX = 800
ANNOUNCEMENT_MAX = 500  # a shop's word in the weekly digest
MAX_PAGE_SIZE = 50
PHOTO_REF_MAX = 512  # a platform's file reference, stored as given
MAX_ID = 2**63 - 1  # SQLite's INTEGER; a forged id beyond it simply does not exist
