"""Everyday phrases read before a typed line is taken as a search: greetings, thanks,
help and menu words, « retour », « annuler », « oui » and « non », in any case, with or
without accents, punctuation, emoji or a trailing name (« Bonjour madame ! »,
« Coucou Jeanne 😊 », « MERCI !! »).

A line that is only such a phrase is the phrase; a greeting followed by a request
(« Bonjour, vous avez du miel ? ») is the request, whose words come back in ``rest``;
``request`` then strips the filler of a request (« je voudrais du miel » -> « miel »).
Pure functions of the text: no I/O, nothing of the conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from chatshop.domain.text import fold as text_fold


class Phrase(StrEnum):
    GREETING = "greeting"  # « bonjour »: the menu
    MENU = "menu"  # « menu », « accueil »: the menu
    HELP = "help"  # « aide », « ? »: how it works, and the menu
    THANKS = "thanks"  # « merci », « au revoir »: a polite answer
    BACK = "back"  # « retour »: the screen before (out of a prompt), or the menu
    CANCEL = "cancel"  # « annuler »: out of a prompt, nothing changed
    YES = "yes"  # « oui »: the yes of a yes/no question on the screen
    NO = "no"  # « non », « non merci »: its no


# Folded (lower case, no accents) words and word pairs, each with what it means.
_WORDS: dict[str, Phrase] = {
    **dict.fromkeys(("bonjour", "bonsoir", "salut", "coucou", "hello", "hi", "hey", "bjr",
                     "bsr", "slt", "cc", "allo", "yo", "bonjours", "bonjoir", "bonjoue"),
                    Phrase.GREETING),
    **dict.fromkeys(("menu", "accueil", "start", "demarrer", "commencer", "debut"),
                    Phrase.MENU),
    **dict.fromkeys(("aide", "help", "aidez", "secours", "sos", "info", "infos"),
                    Phrase.HELP),
    **dict.fromkeys(("merci", "mercii", "merciii", "thanks", "thank", "mrc", "remerciements",
                     "revoir", "bientot", "bye", "ciao"), Phrase.THANKS),
    **dict.fromkeys(("retour", "retourner", "revenir", "precedent", "arriere", "back"),
                    Phrase.BACK),
    **dict.fromkeys(("annuler", "annule", "annulez", "annulation", "cancel", "abandonner"),
                    Phrase.CANCEL),
    **dict.fromkeys(("oui", "ouai", "ouais", "yes", "volontiers", "ok", "okay", "accord",
                     "d'accord", "daccord", "entendu", "parfait", "exact", "exactement"),
                    Phrase.YES),
    **dict.fromkeys(("non", "no", "nan", "nope", "jamais"), Phrase.NO),
}
_PAIRS: dict[tuple[str, str], Phrase] = {
    ("bon", "matin"): Phrase.GREETING,
    ("bonne", "journee"): Phrase.THANKS,
    ("bonne", "soiree"): Phrase.THANKS,
    ("bonne", "nuit"): Phrase.THANKS,
    ("a", "plus"): Phrase.THANKS,
    ("comment", "ca"): Phrase.HELP,  # « comment ça marche ? »
    ("pas", "maintenant"): Phrase.NO,
    ("plus", "tard"): Phrase.NO,
    ("pas", "besoin"): Phrase.NO,
}
# Words that may stand beside a phrase without asking for anything: an address
# (« madame », « à tous ») and politeness (« merci beaucoup », « s'il vous plaît »).
# A capitalised word after the first is taken as a name, too (« Bonjour Jeanne »).
_ADDRESS = frozenset((
    "madame", "monsieur", "mademoiselle", "mme", "mlle", "mr", "m", "mesdames", "messieurs",
    "mesdemoiselles", "a", "tous", "toutes", "tout", "le", "la", "les", "monde", "chers",
    "cher", "chere", "cheres", "amis", "amies", "equipe", "re", "ma", "mon",
))
_POLITE = _ADDRESS | frozenset((
    "vous", "toi", "et", "encore", "beaucoup", "bien", "mille", "fois",
    "mercis",
    "svp", "stp", "s'il", "plait", "il", "te", "de", "nouveau", "voila", "marche", "ca",
    "fonctionne",
    "the", "you", "much", "very", "so", "please", "au", "bon", "bonne", "journee",
    "soiree", "nuit", "matin", "plus", "ici", "moi", "besoin", "d'aide", "j'ai",
))
# Priority when a line holds several: an answer (« oui merci », « non merci ») before
# leaving (« retour », « annuler ») before thanks before help before the menu before a
# greeting (« Bonjour, merci ! » is a thanks).
_ORDER = (Phrase.NO, Phrase.YES, Phrase.CANCEL, Phrase.BACK, Phrase.THANKS, Phrase.HELP,
          Phrase.MENU, Phrase.GREETING)
# The words of a request around what is asked for (« je voudrais », « vous avez »,
# « est-ce que vous auriez »): dropped before searching.
_REQUEST = frozenset((
    "je", "j'", "j", "voudrais", "voudrai", "voudrait", "voulais", "veux", "veut", "cherche",
    "cherches", "recherche", "recherches", "aimerais", "aimerai", "souhaite", "souhaiterais",
    "souhaiterai", "desire", "desirerais", "prendrais", "acheter", "trouver", "commander",
    "reserver", "vous", "avez", "auriez", "avez-vous", "auriez-vous", "est-ce", "est",
    "ce", "que", "qu'", "qu", "il", "y", "a-t-il", "t-il", "a", "ai", "besoin", "d'",
    "l'", "un", "une", "des", "du", "de", "la", "le", "les", "svp", "stp", "s'il", "plait",
    "plaît", "merci", "bonjour", "bonsoir", "madame", "monsieur", "quelque", "chose",
    "encore", "avoir", "possible", "serait", "ca", "cela", "il-y-a", "vendez", "faites",
    "proposez", "sauriez", "m'", "me", "dire", "si", "oui", "bien", "c", "c'est",
    "combien", "coute", "coutent", "ma", "mon", "mes",
))
_TOKEN = re.compile(r"[\w'’+-]+|\?")


@dataclass(frozen=True)
class Reading:
    """What a typed line says: ``phrase`` when it is only an everyday phrase; else
    ``rest``, the request that follows a leading greeting (« vous avez du miel ? »), or
    the whole line when it is not one."""

    phrase: Phrase | None
    rest: str = ""


def fold(text: str) -> str:
    """Lower case, without accents, typographic apostrophes made plain."""
    return text_fold(text).replace("’", "'")


def read(text: str) -> Reading:
    """Read ``text`` for an everyday phrase (see the module's docstring)."""
    tokens = [(m.group(), m.start()) for m in _TOKEN.finditer(text)]
    if tokens and all(token == "?" for token, _start in tokens):
        return Reading(Phrase.HELP)  # « ? » alone; elsewhere it ends a question
    tokens = [(token, start) for token, start in tokens if token != "?"]
    folded = [fold(token).strip("'-") or token for token, _start in tokens]
    meaning: list[Phrase | None] = [None] * len(folded)
    for index, word in enumerate(folded):
        if meaning[index] is not None:
            continue
        pair = _PAIRS.get((word, folded[index + 1])) if index + 1 < len(folded) else None
        if pair is not None:
            meaning[index] = meaning[index + 1] = pair
        else:
            meaning[index] = _WORDS.get(word)
    found = {m for m in meaning if m is not None}
    if not found:
        return Reading(None, text.strip())
    asking = [i for i, word in enumerate(folded) if meaning[i] is None
              and word not in _POLITE and not _is_name(tokens[i][0], i)]
    if not asking:
        return Reading(next(p for p in _ORDER if p in found))
    if meaning[0] is not Phrase.GREETING or any(m is not None for m in meaning[asking[0]:]):
        return Reading(None, text.strip())  # « merci pour le miel », « miel bonjour »
    # « Bonjour madame, vous avez du miel ? »: the request starts after the greeting and
    # the address that follows it.
    start = 1
    while start < len(folded) and (meaning[start] is Phrase.GREETING
                                   or (folded[start] in _ADDRESS and start < asking[0])
                                   or _is_name(tokens[start][0], start)):
        start += 1
    return Reading(None, text[tokens[start][1]:].strip())


def _is_name(token: str, index: int) -> bool:
    """A capitalised word after the first (« Bonjour Jeanne ») is someone's name."""
    return index > 0 and token.isalpha() and token[:1].isupper() and token[1:].islower() \
        and len(token) <= 20


def request(text: str) -> str:
    """What a request asks for, its filler dropped: « je voudrais du miel » -> « miel »,
    « vous avez du savon ? » -> « savon », « je cherche une crème pour les mains » ->
    « crème pour les mains » (the search drops « pour les » itself). A line that is only
    filler is kept as it is."""
    words = text.replace("?", " ").replace("’", "'").split()
    kept: list[str] = []
    for word in words:
        folded = fold(word).strip(",;:.!")
        # « d'huile », « l'huile », « qu'un »: the elided article goes, the word stays.
        head, apostrophe, tail = folded.partition("'")
        if apostrophe and tail and f"{head}'" in _REQUEST:
            word, folded = word[len(head) + 1:], tail
        if folded not in _REQUEST:
            kept.append(word.strip(",;:.!"))
    return " ".join(w for w in kept if w) or text.strip()

