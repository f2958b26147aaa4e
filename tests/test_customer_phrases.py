"""Forty-odd everyday customer phrases, typed on the demo territory as elderly customers
type them (greetings, requests with filler, plurals, typos, yes/no): none is answered
« Aucun résultat » when the catalogue has what they mean."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from chatshop.conversation.router import Conversation
from chatshop.demo import DEMO_OPERATOR, DEMO_OPERATOR_NAME, DEMO_TERRITORY, seed_demo
from chatshop.services import build_services
from chatshop.storage import Store
from tests.chat import Chat, Postbox
from tests.conftest import FakeClock

# (what is typed, a word the answer must show: the product meant, or the screen)
PHRASES = [
    ("bonjour", "Que souhaitez-vous faire"),
    ("Bonjour madame !", "Que souhaitez-vous faire"),
    ("bonsoir", "Que souhaitez-vous faire"),
    ("coucou", "Que souhaitez-vous faire"),
    ("salut", "Que souhaitez-vous faire"),
    ("merci", "Avec plaisir"),
    ("merci beaucoup", "Avec plaisir"),
    ("au revoir", "Avec plaisir"),
    ("aide", "Comment ça marche"),
    ("?", "Comment ça marche"),
    ("menu", "Que souhaitez-vous faire"),
    ("accueil", "Que souhaitez-vous faire"),
    ("retour", "Que souhaitez-vous faire"),
    ("oui", "Voici le menu"),
    ("non", "Voici le menu"),
    ("miel", "Miel"),
    ("je voudrais du miel", "Miel"),
    ("Bonjour, vous avez du miel ?", "Miel"),
    ("vous avez du savon ?", "Savon"),
    ("Avez-vous des bougies ?", "Bougie"),
    ("je cherche une crème pour les mains", "Crème mains"),
    ("est-ce que vous auriez de la confiture ?", "Confiture"),
    ("je voudrais du jus de pomme", "Jus de pomme"),
    ("du shampoing s'il vous plaît", "Shampoing"),
    ("savons", "Savon"),
    ("bougies", "Bougie"),
    ("confitures", "Confiture"),
    ("bracelets", "Bracelet"),
    ("colliers", "Collier"),
    ("brosses", "Brosse"),
    ("coffrets", "Coffret"),
    ("chouchous", "Chouchou"),
    ("crèmes", "Crème"),
    ("CREME", "Crème"),
    ("creme de marron", "Crème de marrons"),
    ("svaon", "savon"),
    ("mile", "miel"),
    ("crme", "crème"),
    ("shampoin", "Shampoing"),
    ("confitrue", "onfiture"),
    ("bracellet", "racelet"),
    ("terrine", "Terrine"),
    ("rillettes de canard", "Rillettes"),
]


@pytest.fixture
async def demo(store: Store, clock: FakeClock) -> Conversation:
    services = build_services(store, operators=frozenset({DEMO_OPERATOR}), clock=clock)
    operator = await services.customers.seen(*DEMO_OPERATOR, DEMO_OPERATOR_NAME)
    await seed_demo(services, operator=services.customers.actor(operator))
    return Conversation(services, territory=DEMO_TERRITORY,
                        tz=ZoneInfo("Europe/Paris"))


def test_the_list_is_long_enough() -> None:
    assert len(PHRASES) >= 40


@pytest.mark.parametrize(("typed", "shown"), PHRASES)
async def test_an_everyday_phrase_is_understood(demo: Conversation, postbox: Postbox,
                                                typed: str, shown: str) -> None:
    jeanne = Chat(demo, "5000", "Jeanne", postbox)
    await jeanne.send("/start")
    await jeanne.send(typed)
    seen = jeanne.text.replace("\u00a0", " ") + " " + " ".join(jeanne.labels)
    assert "Aucun résultat" not in seen or "Vouliez-vous dire" in seen, seen
    assert shown.casefold() in seen.casefold(), seen
