"""Pictures for the demo's products, drawn with Pillow, so that the demo's shop window is
not all placeholders: a soft colour per category and a simple shape (a jar for food, a
bottle for drinks, a drop for care products, a ring for accessories, a parcel for gifts,
a leaf for crafts). One picture per category: the demo keeps each once. Pure: bytes out
(a PNG), kept by ``ImageService.keep`` like any photo."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from functools import cache

from PIL import Image, ImageDraw

SIDE = 600
Colour = tuple[int, int, int]
Draw = Callable[[ImageDraw.ImageDraw, Colour], None]


def _jar(pen: ImageDraw.ImageDraw, ink: Colour) -> None:
    pen.rounded_rectangle((190, 150, 410, 190), radius=12, fill=ink)
    pen.rounded_rectangle((170, 200, 430, 460), radius=40, outline=ink, width=18)
    pen.rectangle((215, 280, 385, 370), fill=ink)


def _bottle(pen: ImageDraw.ImageDraw, ink: Colour) -> None:
    pen.rectangle((270, 110, 330, 160), fill=ink)
    pen.polygon([(270, 160), (330, 160), (370, 240), (230, 240)], fill=ink)
    pen.rounded_rectangle((230, 230, 370, 480), radius=24, outline=ink, width=18)


def _drop(pen: ImageDraw.ImageDraw, ink: Colour) -> None:
    pen.polygon([(300, 110), (207, 286), (393, 286)], fill=ink)  # tangent to the circle
    pen.ellipse((195, 230, 405, 440), fill=ink)


def _ring(pen: ImageDraw.ImageDraw, ink: Colour) -> None:
    pen.ellipse((180, 200, 420, 440), outline=ink, width=26)
    pen.polygon([(300, 120), (250, 175), (300, 215), (350, 175)], fill=ink)


def _parcel(pen: ImageDraw.ImageDraw, ink: Colour) -> None:
    pen.rectangle((170, 240, 430, 460), outline=ink, width=18)
    pen.rectangle((150, 190, 450, 250), fill=ink)
    pen.rectangle((285, 190, 315, 460), fill=ink)
    pen.ellipse((220, 130, 300, 195), outline=ink, width=14)
    pen.ellipse((300, 130, 380, 195), outline=ink, width=14)


def _leaf(pen: ImageDraw.ImageDraw, ink: Colour) -> None:
    # Along the diagonal from (170, 430) to (430, 170), widest in the middle.
    steps = [i / 40 for i in range(41)]
    side = [(170 + 260 * t + 80 * math.sin(math.pi * t), 430 - 260 * t + 80 * math.sin(
        math.pi * t)) for t in steps]
    other = [(170 + 260 * t - 80 * math.sin(math.pi * t), 430 - 260 * t - 80 * math.sin(
        math.pi * t)) for t in reversed(steps)]
    pen.polygon(side + other, fill=ink)
    pen.line((150, 450, 400, 200), fill=(255, 255, 255), width=8)


_CATEGORIES: dict[str, tuple[Colour, Colour, Draw]] = {
    # category: (background, ink, shape)
    "Alimentation": ((250, 232, 205), (176, 110, 52), _jar),
    "Boissons": ((222, 238, 214), (86, 130, 70), _bottle),
    "Beauté & soins": ((246, 222, 230), (170, 82, 112), _drop),
    "Mode & accessoires": ((226, 228, 246), (88, 92, 160), _ring),
    "Maison & cadeaux": ((246, 236, 212), (160, 118, 40), _parcel),
    "Artisanat & créations": ((228, 240, 232), (70, 128, 96), _leaf),
}
_OTHER: tuple[Colour, Colour, Draw] = ((236, 234, 230), (120, 116, 108), _jar)


@cache
def picture(category: str) -> bytes:
    """The demo picture of the products of ``category`` (a PNG)."""
    background, ink, shape = _CATEGORIES.get(category, _OTHER)
    image = Image.new("RGB", (SIDE, SIDE), background)
    shape(ImageDraw.Draw(image), ink)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
