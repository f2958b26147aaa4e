"""The command menus Telegram shows beside the text box, in French: customers' by
default, shopkeepers' and the operator's in their own chats."""

from __future__ import annotations

from enum import Enum

from telegram import BotCommand

from chatshop.i18n import N_, _


class Menu(Enum):
    CUSTOMER = "customer"
    SHOPKEEPER = "shopkeeper"
    OPERATOR = "operator"


_CUSTOMER = (
    ("menu", N_("Menu")),
    ("recherche", N_("Search for a product")),
    ("boutiques", N_("The shops")),
    ("panier", N_("My basket")),
    ("reservations", N_("My reservations")),
    ("alertes", N_("My alerts: products I am waiting for")),
    ("aide", N_("Help")),
    ("mesdonnees", N_("My data")),
    ("effacer", N_("Erase my data")),
)
_SHOPKEEPER = (
    ("boutique", N_("My shop: reservations, stock, settings")),
    ("aujourdhui", N_("Today: pickups, to prepare, late")),
    ("reserver", N_("Reserve for a customer: /reserver product x2 for name phone")),
    ("vendu", N_("Sold at the counter: /vendu product quantity")),
    ("produits", N_("My products")),
    ("ajouter", N_("Add a product")),
    ("stock", N_("Stock: /stock product quantity")),
    ("prix", N_("Price: /prix product price")),
    ("annonce", N_("Announcement for the weekly digest")),
    ("chiffres", N_("Figures: the last 8 weeks as a chart")),
)
_OPERATOR = (("territoire", N_("The territory: figures and shops")),)


def commands(menu: Menu) -> list[BotCommand]:
    """The commands of ``menu``, most used first."""
    chosen = list(_CUSTOMER)
    if menu is not Menu.CUSTOMER:
        chosen = [*chosen[:1], *_SHOPKEEPER, *chosen[1:]]
    if menu is Menu.OPERATOR:
        chosen = [*chosen[:1], *_OPERATOR, *chosen[1:]]
    return [BotCommand(name, _(description)) for name, description in chosen]
