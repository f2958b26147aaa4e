"""What the services need from storage for kept photos and their sizes: the
``MediaRepository`` protocol (part of ``storage/interface.py``'s contract, in a module
of its own for length) and the values it takes and returns. No SQL here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, NamedTuple, Protocol


class MediaSize(NamedTuple):
    """One size of a kept photo: ``display``, ``thumb`` or ``preview``, a JPEG."""
    variant: str
    width: int
    height: int
    data: bytes


class UnkeptPhoto(NamedTuple):
    """A product's or shop's photo that is only a Telegram file id."""
    kind: Literal["product", "shop"]
    owner_id: int
    file_ref: str


class MediaRepository(Protocol):
    """Kept photos (content-addressed) and their sizes for the shop window."""

    async def keep(self, sha256: str, mime_type: str, data: bytes,
                   sizes: Sequence[MediaSize], now: datetime) -> None:
        """The file and its sizes in one transaction; a file kept before is kept."""
        ...

    async def add_sizes(self, sha256: str, sizes: Sequence[MediaSize],
                        now: datetime) -> None:
        ...

    async def file(self, sha256: str) -> tuple[str, bytes] | None:
        ...

    async def size(self, sha256: str, variant: str) -> bytes | None:
        ...

    async def cleaned(self, sha256: str) -> bool:
        """Whether this file was kept cleaned (by this version), with its sizes."""
        ...

    async def not_cleaned(self) -> list[str]:
        """Images kept before this version, as they came (EXIF and all)."""
        ...

    async def replace(self, old: str, new: str) -> bool:
        """Products' and shops' photos moved from ``old`` to ``new``; ``old`` forgotten
        unless a waiting message or a conversation may still use it (whether it is)."""
        ...

    async def shown(self, sha256: str) -> bool:
        """Whether a listed product or an active shop shows this kept photo."""
        ...

    async def unkept_photos(self) -> list[UnkeptPhoto]:
        ...
