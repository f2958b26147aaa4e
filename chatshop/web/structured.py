"""What other sites read from a window page: the link preview (OpenGraph and Twitter
card tags, which Facebook, WhatsApp and Telegram show when a link is pasted) and
schema.org JSON-LD (``Product`` with its ``Offer``, ``Store`` with its address and
opening hours) for search engines.

The JSON-LD goes in a ``<script type="application/ld+json">``: data, not code (the CSP
allows it), written with ``<``, ``>`` and ``&`` as ``\\u003c``... so that a shopkeeper's
« </script> » in a product name cannot end it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from chatshop.domain.models import Product, Shop

_SCHEMA_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                "Sunday")
DESCRIPTION_MAX = 200  # what a preview shows of a description


@dataclass(frozen=True)
class Preview:
    """A page's link preview: ``image`` is an absolute address (1200×630) or None."""

    title: str
    description: str
    url: str
    type: str = "website"
    image: str | None = None
    image_alt: str = ""


def shorten(text: str, limit: int = DESCRIPTION_MAX) -> str:
    """One line of at most ``limit`` characters, cut at a word with « … »."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


def json_ld(data: dict[str, Any]) -> Markup:
    """``data`` as JSON safe inside a ``<script>`` element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return Markup(text)  # escaped above for a script element


def price_text(cents: int) -> str:
    """``6.50``: schema.org's decimal price."""
    return f"{cents // 100}.{cents % 100:02d}"


def product_data(product: Product, shop: Shop, url: str, image: str | None,
                 shop_url: str) -> dict[str, Any]:
    """schema.org ``Product`` with one ``Offer`` sold by its pickup shop."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "url": url,
        "offers": {
            "@type": "Offer",
            "price": price_text(product.price_cents),
            "priceCurrency": "EUR",
            "availability": "https://schema.org/"
                            + ("InStock" if product.available > 0 else "OutOfStock"),
            "url": url,
            "seller": {"@type": "Store", "name": shop.name, "url": shop_url},
        },
    }
    if product.description:
        data["description"] = shorten(product.description, 500)
    if image:
        data["image"] = image
    return data


def store_data(shop: Shop, commune: str, postcode: str, url: str,
               image: str | None, telephone: str | None) -> dict[str, Any]:
    """schema.org ``Store`` (a ``LocalBusiness``) with address, phone and hours."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Store",
        "name": shop.name,
        "url": url,
        "address": {"@type": "PostalAddress", "streetAddress": shop.address,
                    "addressLocality": commune, "postalCode": postcode,
                    "addressCountry": "FR"},
    }
    if shop.description:
        data["description"] = shorten(shop.description, 500)
    if telephone:
        data["telephone"] = telephone
    if image:
        data["image"] = image
    if shop.latitude is not None and shop.longitude is not None:
        data["geo"] = {"@type": "GeoCoordinates", "latitude": shop.latitude,
                       "longitude": shop.longitude}
    if shop.hours:
        data["openingHoursSpecification"] = [
            {"@type": "OpeningHoursSpecification",
             "dayOfWeek": f"https://schema.org/{_SCHEMA_DAYS[slot.weekday]}",
             "opens": slot.opens.strftime("%H:%M"), "closes": slot.closes.strftime("%H:%M")}
            for slot in sorted(shop.hours, key=lambda s: (s.weekday, s.opens))]
    return data
