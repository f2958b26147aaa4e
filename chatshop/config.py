"""Settings from ``CHATSHOP_`` environment variables and an optional ``.env`` file.

``load_settings()`` turns any bad value into a ``ConfigError`` whose single line names
the variable, in French and then English, so start-up stops with a sentence, not a
traceback. ``unknown_variables()`` finds the ``CHATSHOP_`` names that are no setting
(a typo would otherwise be silently ignored), with the closest setting's name, and
``unreadable_lines()`` the lines of ``.env`` that are skipped because they cannot be read.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv.parser import parse_stream  # what pydantic-settings reads .env with
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from chatshop.domain.models import CHANNELS, Channel
from chatshop.domain.schedule import parse_schedule
from chatshop.errors import ConfigError

# BotFather's tokens: the bot's numeric id, a colon, 35 characters of A-Za-z0-9_-.
_TELEGRAM_TOKEN = re.compile(r"[0-9]{3,15}:[A-Za-z0-9_-]{30,64}")
_OPERATOR = re.compile(r"(?P<channel>[a-z]+):(?P<user>[A-Za-z0-9_.+-]{1,64})")
PREFIX = "CHATSHOP_"
ENV_FILE = ".env"
# python-dotenv's warning for a line it cannot read, in English and once per reading:
# unreadable_lines() says it instead, in French.
_DOTENV_LOG = logging.getLogger("dotenv.main")


class OperatorId(tuple[Channel, str]):
    """``telegram:123456`` -> ``("telegram", "123456")``."""

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> OperatorId:
        match = _OPERATOR.fullmatch(text.strip())
        if match is None or match["channel"] not in CHANNELS:
            raise ValueError(
                f"« {text.strip()} » n'est pas de la forme canal:identifiant / "
                f"is not channel:user_id (channels: {', '.join(CHANNELS)})"
            )
        channel: Channel = match["channel"]
        return cls((channel, match["user"]))


class Settings(BaseSettings):
    """Everything an operator can configure without touching code."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore",
    )

    database: str = Field(default="chatshop.db", min_length=1)
    timezone: str = "Europe/Paris"
    territory: str = Field(default="Mon territoire", min_length=1, max_length=60)
    operators: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # -- Telegram (issue #4) ----------------------------------------------------------
    telegram_token: SecretStr | None = None
    telegram_webhook_url: str | None = None  # set: webhook mode; unset: long polling
    telegram_webhook_secret: SecretStr | None = None  # default: drawn from the token
    telegram_listen: str = "127.0.0.1"
    telegram_port: int = Field(default=8080, ge=1, le=65535)
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    telegram_max_per_second: int = Field(default=30, ge=0, le=1_000)  # 0: no limit
    # The bot's username, for t.me links (asked from Telegram when a token is set and this
    # is not), and the territory's public channel or group the bot posts news in.
    telegram_username: str | None = None
    telegram_channel: str | None = None  # @channel_name or a numeric chat id (-100…)

    # -- WhatsApp Cloud API (issue #6) -------------------------------------------------
    whatsapp_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_number: str | None = None  # the business number, digits only (wa.me links)
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_api_version: str = "21.0"
    whatsapp_base_url: str = "https://graph.facebook.com"
    whatsapp_listen: str = "127.0.0.1"
    whatsapp_port: int = Field(default=8081, ge=1, le=65535)
    whatsapp_max_per_second: int = Field(default=80, ge=1, le=1_000)
    whatsapp_template_notification: str = "chatshop_notification"
    whatsapp_template_digest: str = "chatshop_digest"
    whatsapp_template_language: str = "fr"

    @property
    def whatsapp_enabled(self) -> bool:
        """Any WhatsApp setting given: the channel runs (and says which one is missing)."""
        return any(value is not None for value in (
            self.whatsapp_token, self.whatsapp_phone_number_id, self.whatsapp_app_secret,
            self.whatsapp_verify_token))

    # -- the public shop window (issue #11) --------------------------------------------
    web_enabled: bool = True  # false: no pages served
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8082, ge=0, le=65535)  # 0: a free port, chosen at start
    public_url: str | None = None  # https://vitrine.example.fr: absolute links, previews
    web_requests_per_minute: int = Field(default=120, ge=1, le=100_000)  # per address
    # The « Mentions légales » page: who publishes the window and is the data controller.
    publisher: str | None = None  # e.g. « Office de tourisme Porte Océane du Limousin »
    publisher_address: str | None = None
    publisher_email: str | None = None
    publisher_phone: str | None = None
    publication_director: str | None = None
    hosting_provider: str | None = None  # name and address of the host (LCEN)

    @field_validator("public_url")
    @classmethod
    def _window_url(cls, value: str | None) -> str | None:
        # The window's pages link to each other from the root (/boutique/…, /static/…):
        # served under a path behind a proxy, every one of them would break.
        if value is not None and not re.fullmatch(r"https?://[^\s/?#]+/?", value):
            raise ValueError("une adresse http(s):// sans chemin, ? ni # est attendue (la "
                             "vitrine est servie à la racine) / an http(s):// address "
                             "without a path, ? or # is needed (the window is served at "
                             "the root)")
        return None if value is None else value.rstrip("/")

    @field_validator("telegram_username")
    @classmethod
    def _username_shape(cls, value: str | None) -> str | None:
        # Telegram's rule: 5-32 characters of A-Z a-z 0-9 _, bots' ending in « bot ».
        if value is not None and not re.fullmatch(r"@?[A-Za-z][A-Za-z0-9_]{4,31}", value):
            raise ValueError("un nom d'utilisateur Telegram (5 à 32 caractères A-Z a-z 0-9 _) "
                             "/ a Telegram username (5-32 characters A-Z a-z 0-9 _)")
        return None if value is None else value.lstrip("@")

    @field_validator("telegram_channel")
    @classmethod
    def _channel_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{4,31}|-?[0-9]{5,20}",
                                                  value):
            raise ValueError("@nom_du_canal ou l'identifiant numérique du groupe (-100…) / "
                             "@channel_name or the group's numeric id (-100…)")
        return value

    # -- the weekly digest (issue #5) -------------------------------------------------
    digest_schedule: str = "ven 17:00"  # day and local time, « ven 17:00 », « fri 17:00 »
    digest_rate: int = Field(default=25, ge=1, le=1_000)  # digests per second at most
    digest_send_empty: bool = False  # send « nothing new » digests too

    @field_validator("digest_schedule")
    @classmethod
    def _schedule_shape(cls, value: str) -> str:
        parse_schedule(value)  # its ValueError names the expected shape
        return value

    @property
    def digest_when(self) -> tuple[int, time]:
        return parse_schedule(self.digest_schedule)

    @field_validator("telegram_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TELEGRAM_TOKEN.fullmatch(value.get_secret_value()):
            # Never echo the value: it may be a real token with a typo.
            raise ValueError("ce n'est pas un jeton de @BotFather (123456789:AA…) / "
                             "not a token from @BotFather (123456789:AA…)")
        return value

    @field_validator("telegram_webhook_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https://[^\s/]+(/\S*)?", value):
            raise ValueError("une adresse https:// est attendue / an https:// URL is needed")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and -.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}",
                                                  value.get_secret_value()):
            raise ValueError("1 à 256 caractères A-Z a-z 0-9 _ - / 1-256 characters "
                             "A-Z a-z 0-9 _ -")
        return value

    @field_validator("database")
    @classmethod
    def _folder_exists(cls, value: str) -> str:
        # Checked here so that start-up names the variable instead of failing in SQLite.
        if value.startswith(("postgresql://", "postgres://")):
            return value  # a PostgreSQL database: its server says what is wrong with it
        folder = Path(value.removeprefix("sqlite://")).parent
        if not folder.is_dir():
            raise ValueError(f"le dossier « {folder} » n'existe pas / folder does not exist")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # (OSError: a file it cannot read)
            raise ValueError(
                f"fuseau horaire inconnu / unknown timezone « {value} » (ex. Europe/Paris)"
            ) from None
        return value

    @field_validator("operators", mode="before")
    @classmethod
    def _split_operators(cls, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [part for part in re.split(r"[,\s]+", value) if part]
        if not isinstance(value, list):
            raise ValueError("liste attendue / expected a list like telegram:123,whatsapp:336...")
        return [":".join(OperatorId.parse(str(item))) for item in value]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def operator_ids(self) -> frozenset[OperatorId]:
        return frozenset(OperatorId.parse(item) for item in self.operators)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, or raise ``ConfigError`` with one line naming the variable."""
    quiet = _DOTENV_LOG.disabled
    _DOTENV_LOG.disabled = True
    try:
        return Settings(**overrides)
    except UnicodeDecodeError:
        raise ConfigError(
            ".env : le fichier doit être en UTF-8 / the file must be saved as UTF-8"
        ) from None
    except OSError as exc:  # only .env is read
        raise ConfigError(f".env : illisible / cannot be read ({exc.strerror or exc})"
                          ) from None
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        raise ConfigError(
            f"{PREFIX}{field.upper()} : valeur invalide / invalid value — {_reason(error)}"
        ) from None
    finally:
        _DOTENV_LOG.disabled = quiet


# pydantic's own checks (types, bounds, lengths), said in French first; our validators'
# ValueErrors (« value_error ») are written in both languages already.
_FRENCH_REASONS: dict[str, str] = {
    "int_parsing": "un nombre entier est attendu",
    "int_from_float": "un nombre entier est attendu",
    "int_type": "un nombre entier est attendu",
    "greater_than_equal": "doit valoir au moins {ge}",
    "greater_than": "doit être supérieur à {gt}",
    "less_than_equal": "doit valoir au plus {le}",
    "less_than": "doit être inférieur à {lt}",
    "bool_parsing": "oui ou non est attendu : true ou false (ou 1/0, yes/no, on/off)",
    "bool_type": "oui ou non est attendu : true ou false (ou 1/0, yes/no, on/off)",
    "string_too_short": "au moins {min_length} caractère(s)",
    "string_too_long": "{max_length} caractères au plus",
    "string_type": "du texte est attendu",
    "missing": "manquant",
}


def _reason(error: ErrorDetails) -> str:
    """Why the value was refused, on one line: in French, then in English."""
    english = _one_line(str(error["msg"]))
    if error["type"] == "value_error":
        return english.removeprefix("Value error, ")
    if error["type"] == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1:
        return f"ne doit pas être vide / {english}"
    template = _FRENCH_REASONS.get(error["type"], "valeur refusée")
    return f"{template.format(**(error.get('ctx') or {}))} / {english}"


def _one_line(text: str) -> str:
    """Escape line breaks and other unprintable characters a bad value may carry."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class UnknownVariable(NamedTuple):
    """A ``CHATSHOP_`` variable that is no setting: where it was found (``.env``, or
    None for the environment) and the setting it most looks like, if one does."""

    name: str
    file: str | None
    suggestion: str | None


def unknown_variables(environ: Mapping[str, str] | None = None,
                      env_file: str | Path = ENV_FILE) -> list[UnknownVariable]:
    """Every ``CHATSHOP_`` variable of the environment (``os.environ`` by default) and of
    ``env_file`` that names no setting, in alphabetical order, each once (found in the
    environment first). Names are matched without regard to case, as settings are read.
    A ``.env`` that cannot be read is skipped here: ``load_settings`` says why."""
    environ = os.environ if environ is None else environ
    found: dict[str, str | None] = {}
    for name in environ:
        found.setdefault(name, None)
    names, _unreadable = _read_dotenv(Path(env_file))
    for name in names:
        found.setdefault(name, str(env_file))
    known = [field.upper() for field in Settings.model_fields]
    unknown: list[UnknownVariable] = []
    for name, file in sorted(found.items(), key=lambda item: item[0].upper()):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper.removeprefix(PREFIX) in known:
            continue
        # Compared without the prefix, which every name shares.
        close = difflib.get_close_matches(upper.removeprefix(PREFIX), known, n=1)
        unknown.append(UnknownVariable(name, file, PREFIX + close[0] if close else None))
    return unknown


def unreadable_lines(env_file: str | Path = ENV_FILE) -> list[int]:
    """The numbers of the lines of ``env_file`` that are not ``NAME=value`` (nor blank, nor
    a comment): they are skipped when the settings are read."""
    return _read_dotenv(Path(env_file))[1]


def _read_dotenv(path: Path) -> tuple[list[str], list[int]]:
    """The names a ``.env`` file sets, and its lines that cannot be read; nothing for a
    file that is missing or cannot be read at all (``load_settings`` says why)."""
    try:
        if not path.is_file():
            return [], []
        with path.open(encoding="utf-8") as stream:
            bindings = list(parse_stream(stream))
    except (OSError, UnicodeDecodeError):
        return [], []
    # A binding starts with the blank lines before it: the line is that of its text.
    return ([binding.key for binding in bindings if binding.key is not None],
            [binding.original.line + _leading_newlines(binding.original.string)
             for binding in bindings if binding.error])


def _leading_newlines(text: str) -> int:
    return text[:len(text) - len(text.lstrip())].count("\n")
