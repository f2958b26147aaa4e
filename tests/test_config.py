"""Settings come from CHATSHOP_ variables and a .env file; a bad one stops start-up in one line."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chatshop.config import (
    Settings,
    UnknownVariable,
    load_settings,
    unknown_variables,
    unreadable_lines,
)
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


# Values refused for each setting; the others are free-form (names, addresses, secrets,
# checked where they are used).
BAD_VALUES: dict[str, list[str]] = {
    "database": ["", "/no/such/folder/chatshop.db"],
    "timezone": ["Mars/Olympus"],
    "territory": ["", "x" * 61],
    "operators": ["sms:12"],
    "telegram_token": ["12345"],
    "telegram_webhook_url": ["http://bot.example.fr/telegram"],
    "telegram_webhook_secret": ["pas secret !"],
    "telegram_port": ["abc", "", "80.5", "0", "65536"],
    "telegram_max_per_second": ["beaucoup", "-1", "1001"],
    "whatsapp_port": ["abc", "0", "65536"],
    "whatsapp_max_per_second": ["x", "0", "1001"],
    "digest_schedule": ["dimanche"],
    "digest_rate": ["vite", "-1", "0", "1001"],
    "digest_send_empty": ["peut-être", "2"],
    "telegram_username": ["@ab", "nom avec espaces"],
    "telegram_channel": ["canal", "@a b"],
    "web_enabled": ["bof"],
    "web_port": ["abc", "-1", "65536"],
    "public_url": ["vitrine.example.fr", "https://vitrine.example.fr/?x=1", "ftp://x",
                   "https://example.fr/vitrine"],
    "web_requests_per_minute": ["0", "beaucoup"],
}
FREE_FORM = {
    "telegram_listen", "telegram_base_url", "telegram_base_file_url", "whatsapp_token",
    "whatsapp_phone_number_id", "whatsapp_number", "whatsapp_verify_token",
    "whatsapp_app_secret", "whatsapp_api_version", "whatsapp_base_url", "whatsapp_listen",
    "whatsapp_template_notification", "whatsapp_template_digest",
    "whatsapp_template_language", "web_host", "publisher", "publisher_address",
    "publisher_email", "publisher_phone", "publication_director", "hosting_provider",
}


def test_every_setting_is_either_checked_here_or_free_form() -> None:
    assert set(BAD_VALUES) | FREE_FORM == set(Settings.model_fields)


@pytest.mark.parametrize(("field", "value"), [(field, value) for field, values in
                                              BAD_VALUES.items() for value in values])
def test_every_refusal_names_the_variable_and_says_why_in_french_first(field: str,
                                                                       value: str) -> None:
    variable = f"CHATSHOP_{field.upper()}"
    text = config_error(**{variable: value})
    assert text.startswith(f"{variable} : valeur invalide / invalid value — ")
    reason = text.split(" — ", 1)[1]
    french, english = reason.split(" / ", 1)
    assert french.strip()
    assert english.strip()
    # pydantic's English stays second: « Input should be greater than or equal to 1 »...
    assert not re.search(r"\b(should|Input|String|valid|Value error)\b", french), text


@pytest.mark.parametrize(("variable", "value", "french"), [
    ("CHATSHOP_DIGEST_RATE", "-1", "doit valoir au moins 1"),
    ("CHATSHOP_TELEGRAM_PORT", "abc", "un nombre entier est attendu"),
    ("CHATSHOP_WHATSAPP_PORT", "70000", "doit valoir au plus 65535"),
    ("CHATSHOP_TERRITORY", "", "ne doit pas être vide"),
    ("CHATSHOP_TERRITORY", "x" * 61, "60 caractères au plus"),
    ("CHATSHOP_DIGEST_SEND_EMPTY", "peut-être", "oui ou non est attendu"),
])
def test_pydantics_own_checks_are_said_in_french(variable: str, value: str,
                                                 french: str) -> None:
    assert f"— {french}" in config_error(**{variable: value})


def test_unknown_variables_of_the_environment_and_dotenv_come_with_the_closest_name(
        tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CHATSHOP_TIME_ZONE=Europe/Paris\n"
                                   "CHATSHOP_TIMEZONE=Europe/Paris\n"
                                   "CHATSHOP_TELEGRAM_TOKN=again\n"
                                   "OTHER_TOOL=1\n", encoding="utf-8")
    environment = {"CHATSHOP_TELEGRAM_TOKN": "x", "chatshop_whatsap_port": "8081",
                   "CHATSHOP_DATABASE": "a.db", "chatshop_territory": "b", "PATH": "/bin",
                   "CHATSHOP_ZZZ": "1"}
    assert unknown_variables(environment, tmp_path / ".env") == [
        UnknownVariable("CHATSHOP_TELEGRAM_TOKN", None, "CHATSHOP_TELEGRAM_TOKEN"),
        UnknownVariable("CHATSHOP_TIME_ZONE", str(tmp_path / ".env"), "CHATSHOP_TIMEZONE"),
        UnknownVariable("chatshop_whatsap_port", None, "CHATSHOP_WHATSAPP_PORT"),
        UnknownVariable("CHATSHOP_ZZZ", None, None),
    ]


def test_a_dotenv_file_that_cannot_be_read_gives_no_unknown_variable(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes("CHATSHOP_TERRITORRY=Vallée\n".encode("latin-1"))
    assert unknown_variables({}, tmp_path / ".env") == []  # load_settings says why
    assert unknown_variables({}, tmp_path / "missing.env") == []


def test_by_default_unknown_variables_are_looked_for_in_os_environ_and_dotenv(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CHATSHOP_DIGEST_RAT=5\n", encoding="utf-8")
    monkeypatch.setenv("CHATSHOP_OPERATOR", "telegram:1")
    assert unknown_variables() == [
        UnknownVariable("CHATSHOP_DIGEST_RAT", ".env", "CHATSHOP_DIGEST_RATE"),
        UnknownVariable("CHATSHOP_OPERATOR", None, "CHATSHOP_OPERATORS"),
    ]


def test_the_dotenv_lines_that_cannot_be_read_are_found_by_number(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# chatshop\n"
                                   "CHATSHOP_TERRITORY=Vallée de la Vienne\n"
                                   "territoire de la vallée\n"
                                   "\n"
                                   'CHATSHOP_TIMEZONE="Europe/Paris\n', encoding="utf-8")
    assert unreadable_lines(tmp_path / ".env") == [3, 5]
    assert unreadable_lines(tmp_path / "missing.env") == []


def test_reading_the_settings_leaves_unreadable_lines_to_be_said_in_french(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / ".env").write_text("CHATSHOP_TERRITORY=Vallée\nune ligne sans égal\n",
                                   encoding="utf-8")
    with caplog.at_level(logging.DEBUG):
        assert load_settings().territory == "Vallée"
    assert caplog.records == []  # not python-dotenv's English warning
