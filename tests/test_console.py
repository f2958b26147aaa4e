"""The console, driven in-process on the demo territory as a newcomer drives it: numbers
typed for the choices shown (or as the answer, where the bot asks for a number), people
switched with ``!etre`` who find their last screen, files sent with ``!fichier``."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chatshop.channels.console import ConsoleChat, Identity, runtime_tick
from chatshop.conversation.router import MAX_FILE_BYTES, Conversation
from chatshop.delivery.pace import SlidingWindow
from chatshop.delivery.runtime import Delivery
from chatshop.demo import (
    DEMO_CUSTOMER,
    DEMO_CUSTOMER_NAME,
    DEMO_OPERATOR,
    DEMO_OPERATOR_NAME,
    DEMO_TERRITORY,
    seed_demo,
)
from chatshop.domain.models import Reservation, ReservationStatus
from chatshop.services import Services, build_services
from chatshop.storage import Store, open_store

PARIS = ZoneInfo("Europe/Paris")
NBSP = "\u00a0"


@dataclass
class Console:
    """The terminal: lines typed in, what was printed since the last line out."""

    chat: ConsoleChat
    services: Services
    out: io.StringIO

    async def types(self, *lines: str) -> str:
        start = len(self.out.getvalue())
        for line in lines:
            await self.chat.line(line)
        return self.out.getvalue()[start:]

    async def reservations_of_jeanne(self) -> list[Reservation]:
        session = await self.services.customers.session(*DEMO_CUSTOMER)
        assert session is not None
        return await self.services.reservations.of_customer(session.user.id)


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    """The demo as ``chatshop demo`` builds it, Jeanne the customer typing first."""
    store: Store = await open_store(tmp_path / "demo.db")
    services = build_services(store, operators=frozenset({DEMO_OPERATOR}), tz=PARIS)
    operator = await services.customers.seen(*DEMO_OPERATOR, DEMO_OPERATOR_NAME)
    shops = await seed_demo(services, operator=services.customers.actor(operator))
    identities = {"client": Identity(DEMO_CUSTOMER[1], DEMO_CUSTOMER_NAME),
                  "operateur": Identity(DEMO_OPERATOR[1], DEMO_OPERATOR_NAME)}
    for shop in shops:
        owner = await store.users.find(*shop.owner)
        assert owner is not None
        identities[shop.owner[1]] = Identity(shop.owner[1], owner.display_name)
    out = io.StringIO()
    conversation = Conversation(services, territory=DEMO_TERRITORY, tz=PARIS)
    chat = ConsoleChat(handle=conversation.handle, out=out, identities=identities,
                       current="client", files_dir=tmp_path / "fichiers",
                       tick=runtime_tick(Delivery(
                           services, conversation, digest_pace=lambda: SlidingWindow(None))))
    await chat.line("/start")
    yield Console(chat, services, out)
    await store.close()


def choices(printed: str) -> dict[int, str]:
    """The numbered choices printed: « [2] ➕ » is {2: "➕"}."""
    return {int(n): label.strip() for n, label in
            re.findall(r"\[(\d+)\] (.+?)(?=\s{3}\[\d+\]|\n|$)", printed)}


async def jeanne_reserves_the_hair_cream(console: Console) -> Reservation:
    await console.types("creme coiffante", "1")  # its one result: Espace coiffure's cream
    await console.types("✅ Réserver 1")
    (made,) = await console.reservations_of_jeanne()
    return made


async def the_shop_asks_why_it_cancels(console: Console) -> tuple[Reservation, str]:
    """Jeanne reserves; the shop opens her reservation and presses « Annuler »: the
    reservation, and the screen that asks why."""
    made = await jeanne_reserves_the_hair_cream(console)
    await console.types("!etre espace-coiffure", "/boutique")
    listed = await console.types("📋 Réservations (1)")
    await console.types(next(label for label in choices(listed).values()
                             if made.code in label))
    return made, await console.types("✖️ Annuler")


async def test_a_number_at_the_cancel_reason_presses_back_and_cancels_nothing(
        console: Console) -> None:
    made, asked = await the_shop_asks_why_it_cancels(console)
    assert f"Pourquoi annuler {made.code}{NBSP}?" in asked
    assert choices(asked)[1] == "⬅️ Retour"
    back = await console.types("1")
    assert "📨 À Jeanne" not in back  # the customer was told nothing
    assert made.code in back  # back on the reservation
    (still,) = await console.reservations_of_jeanne()
    assert still.status is ReservationStatus.PENDING
    assert still.cancel_reason is None


async def test_a_short_number_that_is_no_choice_at_the_cancel_reason_is_asked_again(
        console: Console) -> None:
    """« 3 » with two choices shown is a slip of the finger, not a reason to cancel."""
    await the_shop_asks_why_it_cancels(console)
    again = await console.types("3")
    assert "Choisissez un numéro de 1 à 2" in again
    assert "📨 À Jeanne" not in again
    (still,) = await console.reservations_of_jeanne()
    assert still.status is ReservationStatus.PENDING


async def test_a_number_at_the_new_product_name_presses_back_and_adds_nothing(
        console: Console) -> None:
    await console.types("!etre espace-coiffure")
    asked = await console.types("/ajouter")
    assert "Nom du nouveau produit" in asked
    assert choices(asked)[1] == "⬅️ Retour"
    back = await console.types("1")
    assert "🏪 Espace coiffure" in back  # the shop's screen again
    assert "Prix" not in back
    found = await console.services.search.search("1", offset=0, limit=50)
    assert "1" not in [item.product.name for item in found.items]


async def test_numbers_answer_where_a_number_is_asked_and_choose_the_category_after(
        console: Console) -> None:
    await console.types("!etre espace-coiffure", "/ajouter", "Peigne en corne")
    await console.types("7")  # the price: 7 €, though a choice « [1] 🏠 Menu » is shown
    stock = await console.types("1")  # the stock: 1, not the « Menu »
    assert "7,00 €, 1 en stock" in stock.replace(NBSP, " ")
    assert "Dans quelle catégorie" in stock
    third = choices(stock)[3]
    none = await console.types("9")  # a photo is awaited, but 9 is none of the 8 choices
    assert f"Choisissez un numéro de 1 à 8{NBSP}:" in none
    chosen = await console.types("3")
    assert "Aucun résultat" not in chosen
    assert "résultats pour" not in chosen
    (comb,) = (await console.services.search.search("peigne corne", offset=0,
                                                    limit=5)).items
    assert comb.product.category_id is not None
    category = next(c for c in await console.services.catalogue.categories()
                    if c.id == comb.product.category_id)
    assert category.name == third


async def test_a_number_that_is_no_choice_is_asked_again_not_searched(
        console: Console) -> None:
    menu = await console.types("/menu")
    shown = choices(menu)
    answer = await console.types("9")
    assert f"Choisissez un numéro de 1 à {len(shown)}{NBSP}:" in answer
    assert choices(answer) == shown  # the same choices, numbered as before
    assert "résultat" not in answer
    assert "Que souhaitez-vous faire" not in answer  # nothing was sent: no new screen


async def test_the_quantity_screen_shows_the_count_in_the_text_not_as_a_choice(
        console: Console) -> None:
    await console.types("creme coiffante", "1")
    screen = await console.types("🔢 Choisir la quantité")
    assert "Quantité : 1" in screen.replace(NBSP, " ")
    assert list(choices(screen).values())[:2] == ["➖", "➕"]
    assert "1" not in choices(screen).values()
    more = await console.types("2")  # ➕
    assert "Quantité : 2" in more.replace(NBSP, " ")


async def test_each_person_keeps_their_last_screen_and_can_press_its_buttons(
        console: Console) -> None:
    menu = await console.types("/menu")
    await console.types("!etre operateur", "/territoire")
    again = await console.types("!etre client")
    assert f"Voici votre dernier écran{NBSP}:" in again
    assert choices(again) == choices(menu)
    shops = await console.types("2")  # « 🏘 Boutiques » of her menu, not the operator's
    assert choices(menu)[2] == "🏘 Boutiques"
    assert "Rochechouart" in shops


async def test_buttons_under_a_notification_are_pressed_after_becoming_its_addressee(
        console: Console) -> None:
    await console.types("creme coiffante", "1")
    told = await console.types("✅ Réserver 1")
    assert "📨 À Sandrine (espace-coiffure)" in told
    assert "(pour répondre en tant que Sandrine : !etre espace-coiffure)" in told.replace(
        NBSP, " ")
    became = await console.types("!etre espace-coiffure")
    ready = next(n for n, label in choices(became).items() if label == "✅ Prête")
    await console.types(str(ready))
    (made,) = await console.reservations_of_jeanne()
    assert made.status is ReservationStatus.READY


@pytest.mark.parametrize("typed", ["!ETRE espace-coiffure", "!Être Espace-Coiffure",
                                   "!etre sandrine"])
async def test_etre_ignores_case_accents_and_takes_the_persons_name(
        console: Console, typed: str) -> None:
    became = await console.types(typed)
    assert "Vous êtes maintenant Sandrine (espace-coiffure)" in became
    assert console.chat.current == "espace-coiffure"


async def test_fichier_says_in_french_what_is_wrong_and_sends_nothing(
        console: Console, tmp_path: Path) -> None:
    await console.types("!etre espace-coiffure")
    none = await console.types("!fichier")
    assert "Quel fichier" in none
    assert "!fichier produits.csv" in none
    missing = await console.types("!fichier absent.csv")
    assert f"Il n’y a pas de fichier «{NBSP}absent.csv{NBSP}»" in missing
    assert "Errno" not in missing
    assert "No such file" not in missing
    folder = await console.types(f"!fichier {tmp_path}")
    assert f"est un dossier{NBSP}:" in folder
    huge = tmp_path / "enorme.csv"
    huge.write_bytes(b"Nom;Prix;Stock\n" + b"x" * MAX_FILE_BYTES)
    too_large = await console.types(f"!fichier '{huge}'")
    assert "trop gros" in too_large
    page = await console.services.search.search("x", offset=0, limit=5)
    assert page.total == 0


async def test_keys_that_are_not_text_are_not_sent_as_a_search(console: Console) -> None:
    printed = await console.types("\x1b[A", "\x1b[A\x1b[B", "\x1bOA")
    assert printed == ""  # nothing sent, nothing answered
    assert "résultats pour" in await console.types("\x1b[Dmiel\x1b[C")
