"""French: a complete, up-to-date catalogue, and money, dates and times the French way."""

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from chatshop.errors import OutOfStock, StockBelowReserved
from chatshop.i18n import (
    format_clock,
    format_day,
    format_moment,
    format_money,
    ngettext,
    weekday_name,
)
from chatshop.resources import locales_dir

ROOT = Path(__file__).resolve().parents[1]
PARIS = ZoneInfo("Europe/Paris")
NBSP = {"\u00a0", "\u202f"}


def plain(text: str) -> str:
    """The text with Babel's no-break spaces shown as ordinary spaces."""
    return "".join(" " if ch in NBSP else ch for ch in text)


def extracted_ids() -> set[str]:
    keywords = {"_": None, "N_": None, "ngettext": (1, 2)}
    found = extract_from_dir(str(ROOT / "chatshop"), keywords=keywords,
                             method_map=[("**.py", "python"),
                                         ("**/templates/**.html", "jinja2")],
                             options_map={"**/templates/**.html": {
                                 "trim_blocks": "True", "lstrip_blocks": "True"}})
    return {message if isinstance(message, str) else message[0]
            for _file, _line, message, _comments, _context in found}


def catalogue_ids(path: Path) -> dict[str, object]:
    with path.open("rb") as po:
        catalog = read_po(po)
    return {(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}


def test_the_pot_template_is_up_to_date_with_the_code() -> None:
    in_code = extracted_ids()
    in_pot = set(catalogue_ids(locales_dir() / "chatshop.pot"))
    assert in_code - in_pot == set(), "run locales/update.sh: new strings are not in the .pot"
    assert in_pot - in_code == set(), "run locales/update.sh: the .pot has removed strings"


def test_every_message_has_a_french_translation() -> None:
    french = catalogue_ids(locales_dir() / "fr" / "LC_MESSAGES" / "chatshop.po")
    assert set(french) >= extracted_ids()
    for msgid, message in french.items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"no French for {msgid!r}"
        assert "fuzzy" not in message.flags, f"fuzzy translation for {msgid!r}"
        for placeholder in ("{name}", "{n}", "{shop}", "{max}", "{length}", "{text}"):
            if placeholder in msgid:
                assert all(placeholder in s for s in strings), f"{placeholder} lost in {msgid!r}"


def test_french_plurals_follow_the_french_rule() -> None:
    assert ngettext("{n} shop", "{n} shops", 0).format(n=0) == "0 boutique"
    assert ngettext("{n} shop", "{n} shops", 1).format(n=1) == "1 boutique"
    assert ngettext("{n} shop", "{n} shops", 2).format(n=2) == "2 boutiques"


def test_money_is_written_the_french_way() -> None:
    assert plain(format_money(1250)) == "12,50 €"
    assert plain(format_money(99)) == "0,99 €"
    assert plain(format_money(1_000_000)) == "10 000,00 €"


def test_dates_and_times_are_in_french_and_in_the_territorys_timezone() -> None:
    # 16:30 UTC on Saturday 28 November 2026 is 17:30 in Paris.
    moment = datetime(2026, 11, 28, 16, 30, tzinfo=UTC)
    assert format_day(moment, PARIS) == "samedi 28 novembre"
    assert format_clock(moment, PARIS) == "17:30"
    assert format_clock(time(9, 5)) == "09:05"
    assert plain(format_moment(moment, PARIS)) == "samedi 28 novembre à 17:30"
    # Summer time: 16:30 UTC on 1 July is 18:30 in Paris.
    assert format_clock(datetime(2026, 7, 1, 16, 30, tzinfo=UTC), PARIS) == "18:30"
    # Just after midnight in Paris is still the previous day in UTC.
    assert format_day(datetime(2026, 11, 28, 23, 30, tzinfo=UTC), PARIS) == "dimanche 29 novembre"


def test_weekday_names_start_on_monday() -> None:
    assert [weekday_name(d) for d in range(7)] == [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


def test_refusals_read_as_french_sentences() -> None:
    assert plain(OutOfStock(1, "Miel", 2).message()) == "Il ne reste que 2 exemplaires de « Miel »."
    assert plain(OutOfStock(1, "Miel", 0).message()) == "Il n’y a plus de « Miel » en stock."
    assert plain(StockBelowReserved(1).message()) == (
        "1 exemplaire est réservé par un client : le stock ne peut pas descendre sous 1.")
