"""What the bot asked someone to type (or send), as small typed records.

A prompt is kept in the person's state as ``{"await": {"kind": ..., field: value}}``
(the layout saved before prompts were typed, so that states saved then still load), and
its answer handler gets it back typed (``waiting.reservation``, an ``int``). A saved
prompt that no longer reads as its record is dropped, with a word to the person.
``Draft`` is kept the same way: the captioned photo that « Create another product » makes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError


class Takes(StrEnum):
    """What an awaited answer is, which decides how typed lines are read at its prompt."""

    FREE = "free"  # free text (a reason, a name): what is typed is the answer, except
    #                « retour », « annuler », « menu » or « non » alone, which leave
    NUMBER = "number"  # a number (a price, a stock): digits answer, never pick a choice
    WORDS = "words"  # words of a known form (a search, opening hours): everyday phrases
    #                  (« bonjour », « aide »...) are understood there


class Prompt(BaseModel):
    """A question on the screen. ``takes``: what its answer is, when this prompt says
    otherwise than its kind; ``back``: the payload of its « Retour » (see greetings)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    KIND: ClassVar[str]

    takes: Takes | None = None
    back: str | None = None

    def saved(self) -> dict[str, Any]:
        """The prompt as the state keeps it."""
        return {"kind": self.KIND, **self.model_dump(mode="json", exclude_none=True)}


P = TypeVar("P", bound=Prompt)


def reread(kind: type[P], saved: dict[str, Any] | None) -> P | None:
    """``saved`` (the state's ``await``) as the prompt ``kind``; None when it is another
    prompt, or one that no longer reads as it (saved by an older version, or altered)."""
    if saved is None or saved.get("kind") != kind.KIND:
        return None
    try:
        return kind.model_validate(saved)
    except ValidationError:
        return None


class _OfShop(Prompt):
    shop: int


class _OfProduct(Prompt):
    product: int


class Search(Prompt):
    KIND = "search"


class NewCommune(Prompt):
    KIND = "commune"


class CancelReason(Prompt):
    KIND = "cancel_reason"
    reservation: int


class ShopName(Prompt):
    KIND = "shop_name"
    commune: int


class Stock(_OfProduct):
    KIND = "stock"


class Price(_OfProduct):
    KIND = "price"


class ProductPhoto(_OfProduct):
    """The photo of the product just added (a photo, not text, answers it)."""

    KIND = "photo"


class NewName(_OfShop):
    KIND = "new_name"


class NewPrice(_OfShop):
    KIND = "new_price"
    name: str


class NewStock(NewPrice):
    KIND = "new_stock"
    price: int


class Setting(_OfShop):
    KIND = "setting"
    key: str


class Announcement(_OfShop):
    KIND = "announcement"


class Hours(_OfShop):
    KIND = "hours"


class ShopPhoto(_OfShop):
    KIND = "shop_photo"


class Holiday(_OfShop):
    KIND = "holiday"


class Draft(BaseModel):
    """What « 🆕 Create another product » makes, kept while the question is on the
    screen: a captioned photo whose name the shop already has (``twins`` of them)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    key: str
    shop: int
    name: str
    price: int
    on_hand: int
    photo: str
    kept: str | None = None
    twins: int = 0
