"""Settings come from CHATSHOP_ variables and a .env file; a bad one stops start-up in one line."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chatshop.config import load_settings
from chatshop.errors import ConfigError

pytestmark = pytest.mark.usefixtures("clean_environment")


def config_error(**environment: str) -> str:
    """The text of the ``ConfigError`` raised when the environment holds these variables."""
    mp = pytest.MonkeyPatch()
    try:
        for name, value in environment.items():
            mp.setenv(name, value)
        with pytest.raises(ConfigError) as caught:
            load_settings()
    finally:
        mp.undo()
    text = str(caught.value)
    assert len(text.splitlines()) == 1, text
    return text


def test_without_any_setting_the_defaults_are_used() -> None:
    settings = load_settings()
    assert settings.database == "chatshop.db"
    assert settings.timezone == "Europe/Paris"
    assert settings.tz == ZoneInfo("Europe/Paris")
    assert settings.territory
    assert settings.operators == []
    assert settings.operator_ids == frozenset()


def test_environment_variables_set_the_database_timezone_and_territory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.setenv("CHATSHOP_DATABASE", str(tmp_path / "shop.db"))
    monkeypatch.setenv("CHATSHOP_TIMEZONE", "America/Cayenne")
    monkeypatch.setenv("CHATSHOP_TERRITORY", "Pays de la Châtaigneraie")
    settings = load_settings()
    assert settings.database == str(tmp_path / "shop.db")
    assert settings.tz == ZoneInfo("America/Cayenne")
    assert settings.territory == "Pays de la Châtaigneraie"


@pytest.mark.parametrize(
    "typed",
    ["telegram:1000,whatsapp:33612345678,console:me",
     "telegram:1000, whatsapp:33612345678  console:me",
     " telegram:1000\twhatsapp:33612345678,,console:me "],
)
def test_operators_are_channel_and_user_id_separated_by_commas_or_spaces(
    monkeypatch: pytest.MonkeyPatch, typed: str,
) -> None:
    monkeypatch.setenv("CHATSHOP_OPERATORS", typed)
    settings = load_settings()
    assert settings.operator_ids == {
        ("telegram", "1000"), ("whatsapp", "33612345678"), ("console", "me")}
    assert ("telegram", "1000") in settings.operator_ids
    assert ("whatsapp", "1000") not in settings.operator_ids
    assert ("telegram", "100") not in settings.operator_ids


def test_an_empty_operator_list_means_no_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSHOP_OPERATORS", " ")
    assert load_settings().operator_ids == frozenset()


def test_a_dotenv_file_in_the_working_folder_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# chatshop\n"
        "CHATSHOP_TIMEZONE=America/Martinique\n"
        'CHATSHOP_OPERATORS="telegram:42, whatsapp:33600000000"\n'
        "CHATSHOP_TERRITORY=Vallée de la Vienne\n"
        "SOMETHING_ELSE=ignored\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.timezone == "America/Martinique"
    assert settings.operator_ids == {("telegram", "42"), ("whatsapp", "33600000000")}
    assert settings.territory == "Vallée de la Vienne"


def test_an_environment_variable_wins_over_the_dotenv_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    (tmp_path / ".env").write_text("CHATSHOP_TIMEZONE=America/Martinique\n", encoding="utf-8")
    monkeypatch.setenv("CHATSHOP_TIMEZONE", "Indian/Reunion")
    assert load_settings().timezone == "Indian/Reunion"


def test_a_bad_value_in_the_dotenv_file_names_its_variable(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CHATSHOP_TIMEZONE=Nowhere/Land\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="CHATSHOP_TIMEZONE"):
        load_settings()


def test_a_dotenv_file_not_saved_as_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    # What an old Windows editor writes for "Vallée".
    (tmp_path / ".env").write_bytes("CHATSHOP_TERRITORY=Vallée\n".encode("latin-1"))
    text = config_error()
    assert ".env" in text
    assert "UTF-8" in text


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Paris", "", "Europe/", "../etc/passwd",
                                  "zone.tab", "a" * 300])
def test_an_unknown_timezone_is_refused_naming_the_variable(zone: str) -> None:
    text = config_error(CHATSHOP_TIMEZONE=zone)
    assert text.startswith("CHATSHOP_TIMEZONE")
    assert "Europe/Paris" in text  # an example of what is expected


@pytest.mark.parametrize(
    "typed",
    ["sms:12", "telegram:", "telegram", ":12", "Telegram:12", "telegram:12 sms:13",
     "telegram:" + "1" * 65, "telegram:a/b", '["telegram:12"]'],
)
def test_a_malformed_operator_is_refused_naming_the_variable_and_the_value(typed: str) -> None:
    text = config_error(CHATSHOP_OPERATORS=typed)
    assert text.startswith("CHATSHOP_OPERATORS")
    assert "telegram, whatsapp, console" in text


def test_an_operator_refusal_quotes_the_bad_entry() -> None:
    assert "« sms:13 »" in config_error(CHATSHOP_OPERATORS="telegram:12,sms:13")


def test_a_value_with_a_line_break_is_still_refused_in_one_line() -> None:
    text = config_error(CHATSHOP_TIMEZONE="Mars/\nOlympus")
    assert text.startswith("CHATSHOP_TIMEZONE")
    assert "Mars/\\nOlympus" in text


@pytest.mark.parametrize(("variable", "value"),
                         [("CHATSHOP_DATABASE", ""), ("CHATSHOP_TERRITORY", ""),
                          ("CHATSHOP_TERRITORY", "x" * 61)])
def test_an_empty_or_too_long_value_is_refused_naming_the_variable(variable: str,
                                                                   value: str) -> None:
    assert config_error(**{variable: value}).startswith(variable)


def test_a_database_in_a_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder" / "chatshop.db"
    text = config_error(CHATSHOP_DATABASE=str(missing))
    assert text.startswith("CHATSHOP_DATABASE")
    assert str(missing.parent) in text


def test_an_override_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("CHATSHOP_DATABASE", "from-env.db")
    assert load_settings(database=str(tmp_path / "given.db")).database == str(
        tmp_path / "given.db")
