"""The printed page under the posters and shelf labels: an A4 PDF (fpdf2) with DejaVu Sans
embedded, text that always fits its box, and QR codes drawn as vector rectangles.

Text here is typed by shopkeepers: up to 80 characters of anything. What the font cannot
draw (colour emoji, most symbols outside its 5 900 glyphs) is left out rather than printed
as empty boxes; right-to-left words (Hebrew, Arabic) are put in their visual order line by
line, since fpdf2 only does that with a shaping library chatshop does not ship. A line too
long for its box is wrapped at spaces (inside a word when it must), and what still does
not fit is cut with « … »: nothing ever runs over a neighbouring label.

QR codes come from segno (the best mask, error correction M or Q, a quiet zone of four
modules) and are drawn module by module as filled rectangles, so they stay sharp at any
printer resolution. No I/O besides reading the two font files.

fpdf2 and segno (with fontTools and numpy under them, some 15 MB) are imported when the
first sheet is drawn, not when the bot starts: most bots print nothing most days.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from fpdf import FPDF

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"
ELLIPSIS = "…"
QUIET_ZONE = 4  # modules of white around a QR code, as ISO/IEC 18004 asks
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
_UNIT = re.compile(r"(\d) (?=(?:[mck]?g|[mc]?[lL]|[cm]?m|%|€)(?![^\W\d_]))")
PT = 25.4 / 72  # one typographic point in millimetres
MARGIN = 15.0  # around a poster's text
GREY = 90  # secondary text: still 7:1 on white paper

Style = Literal["", "B"]
Align = Literal["L", "C", "R"]
Level = Literal["m", "q"]


class Sheet:
    """An A4 portrait document in millimetres, DejaVu Sans (regular and bold) embedded,
    no automatic page break: callers place everything themselves."""

    WIDTH = 210.0
    HEIGHT = 297.0

    def __init__(self, *, title: str, author: str, moment: datetime) -> None:
        from fpdf import FPDF

        pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        pdf.set_auto_page_break(False)
        pdf.set_margins(0, 0, 0)
        pdf.set_title(title)
        pdf.set_author(author)
        pdf.set_creator("chatshop")
        pdf.set_lang("fr-FR")
        pdf.set_creation_date(moment)
        pdf.set_font(FAMILY, "", 12)
        self.pdf: FPDF = pdf

    def page(self) -> None:
        self.pdf.add_page()

    def font(self, size: float, style: Style = "") -> None:
        self.pdf.set_font(FAMILY, style, size)

    def colour(self, grey: int) -> None:
        """Text in a shade of grey (0 is black)."""
        self.pdf.set_text_color(grey)

    def printable(self, text: str) -> str:
        """``text`` without what the current font cannot draw (emoji, exotic symbols),
        spaces collapsed."""
        from fpdf.fonts import TTFFont

        font = self.pdf.current_font
        assert isinstance(font, TTFFont), "the sheet's fonts are DejaVu's TrueType files"
        kept = "".join(ch if ord(ch) in font.cmap else " "
                       for ch in unicodedata.normalize("NFC", text)
                       if ord(ch) in font.cmap or ch.isspace())
        # No-break spaces stay: French puts them before « : » and inside « 6,50 € »;
        # a number keeps its unit on its line (« 350 g », « 1 L »).
        return _UNIT.sub("\\1\u00a0", _SPACES.sub(" ", kept).strip(" "))

    def width(self, text: str) -> float:
        return float(self.pdf.get_string_width(text))

    def lines(self, text: str, width: float, max_lines: int) -> list[str]:
        """``text`` (already printable) wrapped to ``width`` in at most ``max_lines``
        lines, the last cut with « … » when the whole does not fit."""
        wrapped = self._wrap(text, width)
        if len(wrapped) <= max_lines:
            return wrapped
        kept = wrapped[:max_lines]
        kept[-1] = self._cut(kept[-1] + " " + wrapped[max_lines], width)
        return kept

    def address_lines(self, address: str, width: float, max_lines: int) -> list[str]:
        """A web address in lines broken after its slashes (inside a part only when
        that part alone is too wide), cut with « … » past ``max_lines``."""
        parts = [part + "/" for part in address.split("/")]
        parts[-1] = parts[-1][:-1]
        lines: list[str] = []
        line = ""
        for part in parts:
            if self.width(line + part) <= width:
                line += part
                continue
            if line:
                lines.append(line)
            *whole, line = self._wrap(part, width)
            lines.extend(whole)
        if line:
            lines.append(line)
        if len(lines) <= max_lines:
            return lines
        kept = lines[:max_lines]
        kept[-1] = self._cut(kept[-1] + lines[max_lines], width)
        return kept

    def fitted(self, text: str, width: float, max_lines: int,
               sizes: Iterable[float], style: Style = "") -> tuple[float, list[str]]:
        """The largest of ``sizes`` (largest first) at which ``text`` fits in
        ``max_lines`` without a cut, and its lines; else the smallest size, cut."""
        size = 0.0
        for size in sizes:
            self.font(size, style)
            found, broke = self._wrapped(self.printable(text), width)
            # A size at which a word must be broken is not a fit: « thermoprotect / eur »
            # reads worse than smaller letters.
            if len(found) <= max_lines and not broke:
                return size, found
        return size, self.lines(self.printable(text), width, max_lines)

    def write(self, x: float, y: float, width: float, lines: list[str], size: float,
              *, style: Style = "", align: Align = "L", leading: float = 1.2) -> float:
        """Draw ``lines`` at ``size`` points from the top ``y``; gives the y below them."""
        self.font(size, style)
        height = size * PT * leading
        for line in lines:
            self.pdf.set_xy(x, y)
            self.pdf.cell(width, height, visual(line), align=align)
            y += height
        return y

    def text(self, x: float, y: float, width: float, text: str, size: float, *,
             style: Style = "", align: Align = "L", max_lines: int = 1) -> float:
        """Draw a text typed by someone (made printable, wrapped, cut to fit) at
        ``size``; gives the y below it."""
        self.font(size, style)
        return self.write(x, y, width, self.lines(self.printable(text), width, max_lines),
                          size, style=style, align=align)

    def rule(self, x: float, y: float, width: float, *, grey: int = 160,
             thickness: float = 0.3) -> None:
        self.pdf.set_draw_color(grey)
        self.pdf.set_line_width(thickness)
        self.pdf.line(x, y, x + width, y)

    def frame(self, x: float, y: float, width: float, height: float, *, grey: int = 200,
              thickness: float = 0.2) -> None:
        self.pdf.set_draw_color(grey)
        self.pdf.set_line_width(thickness)
        self.pdf.rect(x, y, width, height)

    def qr(self, data: str, x: float, y: float, size: float, level: Level = "m") -> None:
        """A QR code of ``data``, quiet zone included, in the square ``size`` mm wide
        whose top left corner is (x, y)."""
        from fpdf.enums import RenderStyle

        modules, blocks = qr_blocks(data, level)
        step = size / (modules + 2 * QUIET_ZONE)
        self.pdf.set_fill_color(0)
        for column, row, wide, high in blocks:
            self.pdf.rect(x + (column + QUIET_ZONE) * step, y + (row + QUIET_ZONE) * step,
                          wide * step, high * step, style=RenderStyle.F)

    def output(self) -> bytes:
        return bytes(self.pdf.output())

    def _wrap(self, text: str, width: float) -> list[str]:
        return self._wrapped(text, width)[0]

    def _wrapped(self, text: str, width: float) -> tuple[list[str], bool]:
        """``text`` in lines of ``width``, broken between words; a word longer than a
        line is broken too, with a hyphen; and whether one had to be."""
        lines: list[str] = []
        line = ""
        broke = False
        for word in text.split(" "):
            attempt = f"{line} {word}" if line else word
            if self.width(attempt) <= width:
                line = attempt
                continue
            if line:
                lines.append(line)
            line = word
            while self.width(line) > width:  # a word longer than the line: break it
                broke = True
                cut = max(1, self._longest_prefix(line, width - self.width("-")))
                lines.append(line[:cut] + "-")
                line = line[cut:]
        if line or not lines:
            lines.append(line)
        return lines, broke

    def _longest_prefix(self, text: str, width: float) -> int:
        low, high = 1, len(text)  # at least one character, or nothing would move on
        while low < high:
            middle = (low + high + 1) // 2
            if self.width(text[:middle]) <= width:
                low = middle
            else:
                high = middle - 1
        return low

    def _cut(self, text: str, width: float) -> str:
        if self.width(text) <= width:
            return text
        kept = text[:max(self._longest_prefix(text + ELLIPSIS, width) - 1, 0)].rstrip()
        while kept and self.width(kept + ELLIPSIS) > width:
            kept = kept[:-1].rstrip()
        return kept + ELLIPSIS


def visual(line: str) -> str:
    """One line in the order it is seen: right-to-left runs reversed (the Unicode
    bidirectional algorithm, for a left-to-right page); other text as it is."""
    if not any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in line):
        return line
    from fpdf.bidi import BidiParagraph
    from fpdf.enums import TextDirection

    return BidiParagraph(text=line, base_direction=TextDirection.LTR).get_reordered_string()


@lru_cache(maxsize=2048)
def qr_blocks(data: str, level: Level) -> tuple[int, tuple[tuple[int, int, int, int], ...]]:
    """The QR code of ``data`` as its width in modules and its dark modules merged into
    rectangles (column, row, width, height): runs along each row, stacked down while the
    same run repeats. A sheet printed again reuses them (segno takes ~3 ms a code)."""
    import segno

    code = segno.make(data, error=level, micro=False)
    blocks: list[tuple[int, int, int, int]] = []
    open_runs: dict[tuple[int, int], int] = {}  # (start, end) -> first row
    for row, modules in enumerate(code.matrix):
        runs = set(_runs(modules))
        for run in [run for run in open_runs if run not in runs]:
            top = open_runs.pop(run)
            blocks.append((run[0], top, run[1] - run[0], row - top))
        for run in runs:
            open_runs.setdefault(run, row)
    last = len(code.matrix)
    blocks.extend((start, top, end - start, last - top)
                  for (start, end), top in open_runs.items())
    return len(code.matrix), tuple(sorted(blocks))


def _runs(modules: bytearray) -> Iterable[tuple[int, int]]:
    start = None
    for column, dark in enumerate(modules):
        if dark and start is None:
            start = column
        elif not dark and start is not None:
            yield start, column
            start = None
    if start is not None:
        yield start, len(modules)
