"""Photos kept as images: what a shopkeeper sends, cleaned, sized and kept for the window.

Where images live was decided once: in the database (``storage/media.py``), so that the
backups hold them and every process reads them. ``keep`` is the way in for every photo
a channel keeps (``DeliveryService.keep_media`` sends ``image/*`` here): the picture is
cleaned of its metadata (GPS included), turned upright and re-encoded
(``image_sizes``), and kept with its display, thumbnail and link-preview sizes in one
transaction; a file that is no picture is refused (``InvalidInput``) and nothing is
kept. ``backfill`` fetches the photos that were only Telegram file ids before, for
``chatshop photos fetch``. Pillow's work runs in a thread, two at most at once: a
12-megapixel photo takes about a second (measured on two busy cores), and the event
loop goes on meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from chatshop.clock import Clock
from chatshop.domain.models import Channel
from chatshop.errors import InvalidInput
from chatshop.services.image_sizes import VARIANTS, Variant, clean, sizes
from chatshop.storage.interface import Store
from chatshop.storage.media_protocol import MediaSize, UnkeptPhoto

log = logging.getLogger(__name__)

MEDIA_PREFIX = "media:"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_AT_ONCE = 2  # the machine's two cores; each photo may take a few hundred MB decoded
# The platforms other than Telegram that a backfilled photo is for (as
# ``product_commands._elsewhere`` gives a Telegram photo's kept copy).
_ELSEWHERE: tuple[Channel, ...] = ("whatsapp",)


def kept_sha(reference: str) -> str | None:
    """The SHA-256 of a kept file's reference (``media:<sha256>``), or None."""
    sha = reference.removeprefix(MEDIA_PREFIX)
    return sha if reference.startswith(MEDIA_PREFIX) and _SHA256.fullmatch(sha) else None


@dataclass
class BackfillReport:
    """What ``chatshop photos fetch`` did: photos fetched and kept, photos whose picture
    was kept already (the same file for several products), photos kept before this
    version (as they came) now cleaned and sized, and what failed with its reason."""

    fetched: int = 0
    already: int = 0
    sized: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    left: int = 0  # photos only Telegram holds, not fetched (no way to download them)


class ImageService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._pillow = asyncio.Semaphore(_AT_ONCE)

    async def keep(self, data: bytes) -> str:
        """Keep a photo, cleaned and sized; returns its reference (``media:<sha256>``).
        Raises ``InvalidInput`` (a French sentence) for a file that is no picture."""
        return (await self._kept(data))[0]

    def web_image(self, photos: Mapping[Channel, str]) -> str | None:
        """The SHA-256 of the kept copy among a product's or shop's photos, or None (a
        Telegram file id alone cannot be shown on the web)."""
        return next((sha for ref in photos.values() if (sha := kept_sha(ref))), None)

    async def variant(self, sha256: str, name: Variant) -> bytes | None:
        """One size of a kept photo (a JPEG), made now if the photo was kept before
        sizes existed; None for an unknown photo or size."""
        if _SHA256.fullmatch(sha256) is None or name not in VARIANTS:
            return None
        found = await self._store.media.size(sha256, name)
        if found is not None:
            return found
        made = await self._sized(sha256)
        return next((size.data for size in made if size.variant == name), None)

    async def shown(self, sha256: str) -> bool:
        """Whether the public window may serve this kept photo: a listed product or an
        active shop shows it (never anyone else's file, nor a hidden product's)."""
        return _SHA256.fullmatch(sha256) is not None and await self._store.media.shown(sha256)

    async def backfill(self, download: Callable[[str], Awaitable[bytes]] | None
                       ) -> BackfillReport:
        """Fetch every product's and shop's photo that is only a Telegram file id
        (``download`` gets its bytes; None: they are only counted, ``left``), keep it and
        give it to the other platforms; clean and size every image kept without sizes
        (before this version: as it came, GPS included) — that needs no download, so a
        territory on WhatsApp alone cleans its photos too. One failure does not stop
        the rest."""
        report = BackfillReport()
        done: dict[str, str] = {}  # Telegram file id -> its kept reference, this run
        unkept = await self._store.media.unkept_photos()
        if download is None:
            report.left = len(unkept)
            unkept = []
        for photo in unkept:
            assert download is not None
            what = f"{photo.kind} {photo.owner_id}"
            reference = done.get(photo.file_ref)
            if reference is None:
                try:
                    reference, new = await self._kept(await download(photo.file_ref))
                except InvalidInput as refusal:
                    report.failed.append((what, refusal.message()))
                    continue
                except Exception as problem:  # any failure of one photo: reported, go on
                    log.warning("photo of %s not fetched: %s", what, problem)
                    report.failed.append((what, str(problem)[:200] or type(problem).__name__))
                    continue
                done[photo.file_ref] = reference
                report.fetched += new
                report.already += not new
            else:
                report.already += 1
            await self._elsewhere(photo, reference)
        for sha in await self._store.media.not_cleaned():
            try:
                if await self._cleaned(sha):
                    report.sized += 1
            except InvalidInput as refusal:
                report.failed.append((f"media {sha[:12]}", refusal.message()))
        return report

    async def uncleaned_count(self) -> int:
        """How many images were kept before this version, as they came (EXIF and GPS
        included): ``chatshop photos fetch`` cleans them."""
        return len(await self._store.media.not_cleaned())

    async def _cleaned(self, sha256: str) -> bool:
        """A file kept before this version, as it came (its EXIF, GPS included): kept
        again cleaned and sized, what showed it moved to the clean copy."""
        kept = await self._store.media.file(sha256)
        if kept is None or not kept[0].startswith("image/"):
            return False
        reference, _new = await self._kept(kept[1])
        if reference != MEDIA_PREFIX + sha256:
            await self._store.media.replace(sha256, reference.removeprefix(MEDIA_PREFIX))
        return True

    async def _kept(self, data: bytes) -> tuple[str, bool]:
        """The reference of the kept photo, and whether it is new (not kept before)."""
        async with self._pillow:
            kept = await asyncio.to_thread(clean, data)
        sha = hashlib.sha256(kept.data).hexdigest()
        if await self._store.media.cleaned(sha):
            return MEDIA_PREFIX + sha, False  # the same picture, kept before
        made = await self._sizes(kept.data)
        await self._store.media.keep(sha, "image/jpeg", kept.data, made, self._clock())
        return MEDIA_PREFIX + sha, True

    async def _elsewhere(self, photo: UnkeptPhoto, reference: str) -> None:
        for channel in _ELSEWHERE:
            if photo.kind == "product":
                await self._store.catalogue.set_photo(photo.owner_id, channel, reference)
            else:
                await self._store.shops.set_photo(photo.owner_id, channel, reference)

    async def _sized(self, sha256: str) -> list[MediaSize]:
        """Make and store the sizes of a file kept before this version, so that the
        window shows it at once (``backfill`` cleans it later); none if it is not kept
        (or not an image)."""
        kept = await self._store.media.file(sha256)
        if kept is None or not kept[0].startswith("image/"):
            return []
        made = await self._sizes(kept[1])
        await self._store.media.add_sizes(sha256, made, self._clock())
        return made

    async def _sizes(self, kept: bytes) -> list[MediaSize]:
        async with self._pillow:
            made = await asyncio.to_thread(sizes, kept)
        return [MediaSize(name, picture.width, picture.height, picture.data)
                for name, picture in made.items()]
