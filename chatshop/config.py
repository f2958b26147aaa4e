"""Settings from ``CHATSHOP_`` environment variables and an optional ``.env`` file.

``load_settings()`` turns any bad value into a ``ConfigError`` whose single line names
the variable, in French and English, so start-up stops with a sentence, not a traceback.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from chatshop.domain.models import CHANNELS, Channel
from chatshop.domain.schedule import parse_schedule
from chatshop.errors import ConfigError

# BotFather's tokens: the bot's numeric id, a colon, 35 characters of A-Za-z0-9_-.
_TELEGRAM_TOKEN = re.compile(r"[0-9]{3,15}:[A-Za-z0-9_-]{30,64}")
_OPERATOR = re.compile(r"(?P<channel>[a-z]+):(?P<user>[A-Za-z0-9_.+-]{1,64})")


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
        env_prefix="CHATSHOP_", env_file=".env", env_file_encoding="utf-8", extra="ignore",
    )

    database: str = Field(default="chatshop.db", min_length=1)
    timezone: str = "Europe/Paris"
    territory: str = Field(default="Mon territoire", min_length=1, max_length=60)
    operators: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # -- Telegram (issue #4) ----------------------------------------------------------
    telegram_token: SecretStr | None = None
    telegram_webhook_url: str | None = None  # set: webhook mode; unset: long polling
    telegram_webhook_secret: SecretStr | None = None  # default: a new random one per start
    telegram_listen: str = "127.0.0.1"
    telegram_port: int = Field(default=8080, ge=1, le=65535)
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    telegram_max_per_second: int = Field(default=30, ge=0, le=1_000)  # 0: no limit

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
        folder = Path(value).parent
        if not folder.is_dir():
            raise ValueError(f"le dossier « {folder} » n'existe pas / folder does not exist")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
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
    try:
        return Settings(**overrides)
    except UnicodeDecodeError:
        raise ConfigError(
            ".env : le fichier doit être en UTF-8 / the file must be saved as UTF-8"
        ) from None
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        reason = _one_line(str(error["msg"]).removeprefix("Value error, "))
        raise ConfigError(
            f"CHATSHOP_{field.upper()} : valeur invalide / invalid value — {reason}"
        ) from None


def _one_line(text: str) -> str:
    """Escape line breaks and other unprintable characters a bad value may carry."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
