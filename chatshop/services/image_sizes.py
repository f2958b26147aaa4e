"""A photo cleaned and cut to the sizes chatshop shows: pure functions, bytes in, bytes out.

A shopkeeper's photo comes from a phone: it may carry where it was taken (EXIF GPS),
the phone's model, a colour profile, and an orientation flag instead of upright pixels.
``clean`` opens it safely and gives back the picture alone, upright, in sRGB, re-encoded
as a JPEG: that is the file chatshop keeps and sends to the other platforms, never the
original bytes. ``sizes`` makes the three variants the shop window serves:

- ``display`` — at most 1024 px on its long side, for a product's or shop's page;
- ``thumb`` — at most 320 px, for lists;
- ``preview`` — exactly 1200×630 (the link-preview size Facebook recommends), the whole
  picture fitted inside and padded with a light neutral colour, never cropped, at most
  300 KB (WhatsApp drops heavier previews): the quality steps down until it fits.

What is read: JPEG (and the MPO files some phones write), PNG, WebP and GIF, the first frame
of an animation; nothing else (HEIC is not read by Pillow: WhatsApp and Telegram send
JPEGs anyway). A picture of more than ``MAX_PIXELS`` pixels (a decompression bomb, or
absurd), a truncated file, or anything that is not one of these is refused with a
French sentence (``InvalidInput``). No I/O, no storage: the caller keeps the bytes.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Final, Literal

from PIL import (
    GifImagePlugin,
    Image,
    ImageCms,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from chatshop.errors import InvalidInput
from chatshop.i18n import _

Variant = Literal["display", "thumb", "preview"]
VARIANTS: Final[tuple[Variant, ...]] = ("display", "thumb", "preview")

MAX_BYTES: Final = 25 * 1024 * 1024  # a phone's photo weighs a few MB
MAX_PIXELS: Final = 64_000_000  # a 48-megapixel phone photo is 8000×6000
KEPT_SIDE: Final = 1600  # the kept file: sharper than any size shown, fine on a poster
DISPLAY_SIDE: Final = 1024
THUMB_SIDE: Final = 320
PREVIEW_SIZE: Final = (1200, 630)
PREVIEW_MAX_BYTES: Final = 300 * 1024
PAD: Final = (244, 242, 238)  # a warm light grey, for the preview's margins
QUALITY: Final = 82
_PREVIEW_QUALITIES: Final = (82, 76, 70, 62, 54, 46, 38, 30)
# The readers of these formats, registered (``Image.open`` knows only those loaded).
# (The JPEG reader also opens the MPO files some phones write.)
_READERS: Final = (JpegImagePlugin, PngImagePlugin, WebPImagePlugin, GifImagePlugin)
_FORMATS: Final = ("JPEG", "PNG", "WEBP", "GIF")
_SRGB: Final = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class Picture:
    """A JPEG and its size in pixels."""

    data: bytes
    width: int
    height: int


def clean(data: bytes) -> Picture:
    """The photo as chatshop keeps it: upright, without any metadata, sRGB, a JPEG of at
    most ``KEPT_SIDE`` px on its long side. Raises ``InvalidInput`` for a file that is
    no readable picture."""
    return _encoded(_bounded(_opened(data, fit=KEPT_SIDE), KEPT_SIDE), QUALITY)


def sizes(kept: bytes) -> dict[Variant, Picture]:
    """The display, thumbnail and link-preview JPEGs of a kept photo."""
    image = _opened(kept)
    return {
        "display": _encoded(_bounded(image, DISPLAY_SIDE), QUALITY),
        "thumb": _encoded(_bounded(image, THUMB_SIDE), QUALITY),
        "preview": preview(image),
    }


def preview(image: Image.Image) -> Picture:
    """Exactly 1200×630, the whole picture fitted inside (enlarged if small) and padded,
    at most ``PREVIEW_MAX_BYTES``: the JPEG quality steps down until it fits."""
    width, height = PREVIEW_SIZE
    scale = min(width / image.width, height / image.height)
    fitted = image.resize((max(1, round(image.width * scale)),
                           max(1, round(image.height * scale))), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", PREVIEW_SIZE, PAD)
    canvas.paste(fitted, ((width - fitted.width) // 2, (height - fitted.height) // 2))
    for quality in _PREVIEW_QUALITIES:
        picture = _encoded(canvas, quality)
        if len(picture.data) <= PREVIEW_MAX_BYTES:
            return picture
    # Pure noise at the lowest quality: soften it, which any photo survives.
    return _encoded(canvas.reduce(2).resize(PREVIEW_SIZE), _PREVIEW_QUALITIES[-1])


def _opened(data: bytes, fit: int | None = None) -> Image.Image:
    """The first frame, upright, in RGB over white, sRGB, with nothing else kept; a
    JPEG to be made at most ``fit`` px is decoded at a reduced scale when it is far
    larger (libjpeg's own scaling: a quarter of the pixels of a 12-megapixel photo)."""
    refused = InvalidInput(_("This file is not a photo we can read. Please send a photo "
                             "(JPEG or PNG) taken with your phone."))
    if len(data) > MAX_BYTES:
        raise InvalidInput(_("This photo is too large: {max} MB at most.").format(
            max=MAX_BYTES // (1024 * 1024)))
    try:
        # Pillow refuses past twice its own bound (and warns past it); ours is lower.
        source = Image.open(io.BytesIO(data), formats=_FORMATS)
        if source.width * source.height > MAX_PIXELS:
            raise InvalidInput(_("This photo has too many pixels: please send a smaller "
                                 "one."))
        source.seek(0)
        if fit is not None and source.format == "JPEG" and max(source.size) > 2 * fit:
            scale = fit / max(source.size)
            source.draft(source.mode, (math.ceil(source.width * scale),
                                       math.ceil(source.height * scale)))
        source.load()
        upright = ImageOps.exif_transpose(source)
        rgb = _in_srgb(upright, source.info.get("icc_profile"))
    except Image.DecompressionBombError:
        raise InvalidInput(_("This photo has too many pixels: please send a smaller "
                             "one.")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise refused from None
    # A new image holds the pixels alone: no EXIF (GPS, camera), XMP, comment or profile.
    bare = Image.new("RGB", rgb.size)
    bare.paste(rgb)
    return bare


def _in_srgb(image: Image.Image, icc: object) -> Image.Image:
    """RGB pixels in sRGB: a colour profile applied (or dropped if unreadable), a
    transparent background laid over white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit greyscale PNG
        image = image.point(lambda value: value / 256).convert("L")
    if image.mode == "P" or image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    if isinstance(icc, bytes) and icc:
        try:
            converted = ImageCms.profileToProfile(
                image if image.mode in ("RGB", "CMYK", "L") else image.convert("RGB"),
                ImageCms.ImageCmsProfile(io.BytesIO(icc)), _SRGB, outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unreadable profile: the pixels as they are
    return image.convert("RGB")


def _bounded(image: Image.Image, side: int) -> Image.Image:
    """At most ``side`` px on the long side, never enlarged."""
    if max(image.size) <= side:
        return image
    scale = side / max(image.size)
    return image.resize((max(1, round(image.width * scale)),
                         max(1, round(image.height * scale))), Image.Resampling.LANCZOS)


def _encoded(image: Image.Image, quality: int) -> Picture:
    """A progressive JPEG, nothing but the pixels."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return Picture(out.getvalue(), image.width, image.height)
