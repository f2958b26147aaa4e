"""What people type for prices, quantities, names and phones is read the French way or refused."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from babel.support import Translations
from hypothesis import given, settings
from hypothesis import strategies as st

from chatshop.domain.limits import MAX_PRICE_CENTS, MAX_STOCK
from chatshop.domain.models import StockReason
from chatshop.domain.parsing import (
    StockChange,
    clean_description,
    clean_name,
    clean_phone,
    parse_price,
    parse_quantity,
    parse_stock_change,
)
from chatshop.errors import InvalidInput
from chatshop.i18n import format_money, use_catalogues
from chatshop.resources import read_catalogue

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]

NBSP = "\u00a0"
NNBSP = "\u202f"  # the narrow no-break space French typography (and Babel) puts before €


def refusal(parse: Callable[[str], object], text: str) -> str:
    """The sentence a user is shown when ``parse`` refuses ``text``."""
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    message = caught.value.message()
    assert message.strip(), "a refusal must explain itself"
    assert "\n" not in message
    return message


def outcome(parse: Callable[[str], T], text: str) -> T | InvalidInput:
    """What ``parse`` makes of ``text``: its value, or the refusal it raised."""
    try:
        return parse(text)
    except InvalidInput as refused:
        return refused


# --- prices ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("6,50", 650),
        ("6.50", 650),
        ("6,50 €", 650),
        ("6 €", 600),
        ("6€50", 650),
        ("0,99", 99),
        ("6,5", 650),
        ("1 200", 120_000),
        ("1 200,50 €", 120_050),
        (f"1{NBSP}200", 120_000),
        (f"1{NNBSP}200", 120_000),
        (f"6,50{NBSP}€", 650),
        (f"6,50{NNBSP}€", 650),
        ("  6,50  ", 650),
        ("0,01", 1),
        ("10000", MAX_PRICE_CENTS),
        ("10 000,00 €", MAX_PRICE_CENTS),
    ],
)
def test_a_price_typed_the_french_way_is_read_in_cents(typed: str, cents: int) -> None:
    assert parse_price(typed) == cents


def test_a_price_formatted_by_the_bot_itself_is_read_back() -> None:
    # Babel writes "1 200,50 €" with a narrow no-break space before the euro sign.
    assert parse_price(f"1{NNBSP}200,50{NNBSP}€") == 120_050


@pytest.mark.parametrize("typed", ["-3", "-6,50", "−3"])
def test_a_negative_price_is_refused(typed: str) -> None:
    assert "négatif" in refusal(parse_price, typed)


@pytest.mark.parametrize("typed", ["0", "0,00", "0 €", "0,0"])
def test_a_zero_price_is_refused(typed: str) -> None:
    refusal(parse_price, typed)


@pytest.mark.parametrize("typed", ["10000,01", "10 001", "99999", "9" * 40, "1" * 5000])
def test_a_price_above_ten_thousand_euros_is_refused(typed: str) -> None:
    assert format_money(MAX_PRICE_CENTS) in refusal(parse_price, typed)


@pytest.mark.parametrize("typed", ["6,505", "0,001", "6.505 €"])
def test_a_price_with_more_than_two_decimals_is_refused(typed: str) -> None:
    assert "2" in refusal(parse_price, typed)


@pytest.mark.parametrize(
    "typed",
    ["six", "6,50 $", "1e9", "", "   ", "x" * 5000, "6,", ",50", "€6", "+6", "1,200.50",
     "6 € €", "12 34", "٣", "٦,٥٠", "６", "6,50 € 30", "0x10"],
)
def test_anything_else_is_refused_as_not_a_price(typed: str) -> None:
    refusal(parse_price, typed)


def test_the_refusal_of_a_long_text_quotes_only_its_beginning() -> None:
    message = refusal(parse_price, "x" * 5000)
    assert len(message) < 200


def test_nothing_is_read_from_arabic_indic_or_full_width_digits() -> None:
    # Python's \d and int() accept them; a price must be typed with 0-9, like a quantity.
    for typed in ("١٢", "٣ €", "６,５０"):
        refusal(parse_price, typed)


@settings(max_examples=300)
@given(
    cents=st.integers(min_value=1, max_value=MAX_PRICE_CENTS),
    style=st.sampled_from(["{},{:02d}", "{},{:02d} €", "{}.{:02d}", f"{{}},{{:02d}}{NNBSP}€"]),
)
def test_every_price_in_cents_written_in_french_reads_back_to_itself(cents: int,
                                                                     style: str) -> None:
    assert parse_price(style.format(cents // 100, cents % 100)) == cents


@given(st.text())
def test_arbitrary_text_is_either_a_valid_price_or_a_clear_refusal(text: str) -> None:
    result = outcome(parse_price, text)
    if isinstance(result, InvalidInput):
        assert result.message().strip()
    else:
        assert 1 <= result <= MAX_PRICE_CENTS


@given(st.text(alphabet="0123456789 ,.€-eE\u00a0\u202f", max_size=20))
def test_text_made_of_price_characters_is_either_valid_or_clearly_refused(text: str) -> None:
    result = outcome(parse_price, text)
    if isinstance(result, InvalidInput):
        assert result.message().strip()
    else:
        assert 1 <= result <= MAX_PRICE_CENTS


# --- quantities -----------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "quantity"),
                         [("1", 1), ("999", 999), (" 12 ", 12), (f"{NBSP}3{NNBSP}", 3)])
def test_a_quantity_from_1_to_999_is_accepted(typed: str, quantity: int) -> None:
    assert parse_quantity(typed) == quantity


@pytest.mark.parametrize(
    "typed", ["0", "1000", "10000", "-1", "2,5", "abc", "", " ", "٣", "３", "+3", "2 3"])
def test_a_quantity_that_is_not_a_whole_number_from_1_to_999_is_refused(typed: str) -> None:
    assert "999" in refusal(parse_quantity, typed)


@settings(max_examples=300)
@given(st.integers(min_value=1, max_value=999))
def test_every_quantity_from_1_to_999_reads_back_to_itself(quantity: int) -> None:
    assert parse_quantity(str(quantity)) == quantity


@given(st.integers().filter(lambda n: not 1 <= n <= 999))
def test_every_other_whole_number_is_refused_as_a_quantity(number: int) -> None:
    refusal(parse_quantity, str(number))


@given(st.text())
def test_arbitrary_text_is_either_a_valid_quantity_or_a_clear_refusal(text: str) -> None:
    result = outcome(parse_quantity, text)
    if isinstance(result, InvalidInput):
        assert result.message().strip()
    else:
        assert 1 <= result <= 999


# --- names and descriptions -----------------------------------------------------------


def test_a_name_has_its_spaces_collapsed_and_trimmed() -> None:
    assert clean_name("  Miel   de  châtaignier ") == "Miel de châtaignier"


def test_a_tab_or_line_break_in_a_name_becomes_a_space_rather_than_gluing_words() -> None:
    assert clean_name("Miel\tde\nchâtaignier") == "Miel de châtaignier"


def test_control_and_invisible_characters_are_removed_from_a_name() -> None:
    assert clean_name("Miel\x00\x07 bio\u200b") == "Miel bio"


def test_a_name_is_normalised_so_that_accents_count_once() -> None:
    assert clean_name("Cafe\u0301") == "Café"
    assert clean_name("e\u0301" * 80) == "é" * 80


@pytest.mark.parametrize("typed", ["", "   ", "\x00\x01", "\u200b"])
def test_an_empty_name_is_refused(typed: str) -> None:
    refusal(clean_name, typed)


def test_a_name_of_80_characters_is_accepted_and_81_refused() -> None:
    assert clean_name("a" * 80) == "a" * 80
    assert "81" in refusal(clean_name, "a" * 81)


def test_a_name_of_5000_characters_is_refused_with_its_length() -> None:
    assert "5000" in refusal(clean_name, "a" * 5000)


def test_a_name_can_be_given_a_shorter_maximum() -> None:
    assert clean_name("Rochechouart", max_length=12) == "Rochechouart"
    refusal(lambda text: clean_name(text, max_length=5), "Rochechouart")


def test_a_description_keeps_its_line_breaks_but_not_its_extra_blank_lines() -> None:
    typed = "  Miel  récolté\ten juin \r\n\n\n\n  Pot de 500 g  "
    assert clean_description(typed) == "Miel récolté en juin\n\nPot de 500 g"


def test_a_description_may_be_empty() -> None:
    assert clean_description("") == ""
    assert clean_description(" \n \n ") == ""


def test_control_characters_are_removed_from_a_description() -> None:
    assert clean_description("a\x00b\x1bc") == "abc"


def test_a_description_of_800_characters_is_accepted_and_801_refused() -> None:
    assert clean_description("x" * 800) == "x" * 800
    assert "801" in refusal(clean_description, "x" * 801)


@given(st.text())
def test_a_cleaned_name_is_one_trimmed_line_of_printable_characters(text: str) -> None:
    name = outcome(clean_name, text)
    if isinstance(name, InvalidInput):
        assert name.message().strip()
    else:
        assert 1 <= len(name) <= 80
        assert name == name.strip()
        assert "  " not in name
        assert all(ch.isprintable() for ch in name)


# --- phones ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["06 12 34 56 78", "0612345678", "06.12.34.56.78", "06-12-34-56-78",
     f"06{NNBSP}12{NNBSP}34{NNBSP}56{NNBSP}78", "+33 6 12 34 56 78", "+33612345678",
     "0033612345678", "00 33 6 12 34 56 78", "+33 (0)6 12 34 56 78"],
)
def test_a_french_phone_number_is_written_in_international_form(typed: str) -> None:
    assert clean_phone(typed) == "+33612345678"


def test_a_foreign_phone_number_in_international_form_is_kept() -> None:
    assert clean_phone("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize(
    "typed",
    ["", "abc", "06 12 34 56", "06 12 34 56 78 9", "+0612345678",
     "+33 6 12 34 56", "+33 6 12 34 56 78 9", "0012", "+1234567890123456",
     "٠٦١٢٣٤٥٦٧٨", "1" * 5000],
)
def test_something_that_is_not_a_phone_number_is_refused(typed: str) -> None:
    refusal(clean_phone, typed)


def test_opening_hours_are_read_the_way_shopkeepers_write_them() -> None:
    from chatshop.domain.parsing import parse_opening_hours
    assert parse_opening_hours("mar-ven 9h-12h30 14h-19h; sam 9:00-12:00") == [
        *[(d, "09:00", "12:30") for d in range(1, 5)],
        *[(d, "14:00", "19:00") for d in range(1, 5)],
        (5, "09:00", "12:00"),
    ]
    assert parse_opening_hours("Samedi 10h à 18h") == [(5, "10:00", "18:00")]
    for wrong in ["", "lundi", "lun 19h-9h", "xyz 9h-12h", "lun 25h-26h", "lun 9h-12h foo"]:
        with pytest.raises(InvalidInput):
            parse_opening_hours(wrong)


# -- stock changes: « 12 », « +2 », « -1 » ---------------------------------------------


@pytest.mark.parametrize(("typed", "change"), [
    ("12", StockChange(StockReason.SET, 12)), ("0", StockChange(StockReason.SET, 0)),
    ("+2", StockChange(StockReason.ADDED, 2)), ("-1", StockChange(StockReason.REMOVED, 1)),
    ("−3", StockChange(StockReason.REMOVED, 3)), (" +1 200 ", StockChange(StockReason.ADDED, 1200)),
    ("100000", StockChange(StockReason.SET, MAX_STOCK)), ("+ 2", StockChange(StockReason.ADDED, 2)),
])
def test_a_stock_change_is_set_add_or_take_away(typed: str, change: StockChange) -> None:
    assert parse_stock_change(typed) == change


@pytest.mark.parametrize("typed", ["100001", "+100001", "9" * 5000, "-" + "9" * 40])
def test_a_stock_change_past_the_limit_names_the_limit(typed: str) -> None:
    assert "100" + NNBSP + "000" in refusal(parse_stock_change, typed)


@pytest.mark.parametrize("typed", ["", "+", "+0", "-0", "douze", "2,5", "1e3", "++2", "+-2",
                                   "٣"])
def test_other_stock_changes_are_refused_with_a_reason(typed: str) -> None:
    refusal(parse_stock_change, typed)


@given(st.text(max_size=30))
def test_any_stock_change_is_read_or_refused_within_the_limits(text: str) -> None:
    result = outcome(parse_stock_change, text)
    if isinstance(result, StockChange):
        assert 0 <= result.quantity <= MAX_STOCK
        assert result.quantity > 0 or result.reason is StockReason.SET


def test_refusals_are_worded_from_the_installed_catalogue_read_once_at_first_use() -> None:
    asked: list[str] = []

    def loader(language: str) -> Translations:
        asked.append(language)
        return read_catalogue(language)

    use_catalogues(loader)
    try:
        assert asked == []  # nothing read before a message is needed
        assert refusal(parse_quantity, "0") == "Merci d’écrire un nombre entier entre 1 et 999."
        assert refusal(parse_price, "-3").startswith("Un prix ne peut pas")
        assert asked == ["fr"]
    finally:
        use_catalogues(read_catalogue)


def test_importing_chatshop_reads_no_catalogue() -> None:
    probe = ("import chatshop.cli, chatshop.i18n as i18n; "
             "print(i18n.translations.cache_info().currsize)")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.stdout.strip() == "0"
