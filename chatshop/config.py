"""Settings from ``CHATSHOP_`` environment variables and an optional ``.env`` file.

``load_settings()`` turns any bad value into a ``ConfigError`` whose single line names
the variable, in French and English, so start-up stops with a sentence, not a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from chatshop.domain.models import CHANNELS, Channel
from chatshop.errors import ConfigError

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
