"""The week in a picture (#12 §6): the last 8 weeks' reservations of a shop or of the
territory as stacked bars (picked up, expired, cancelled), the chat's and the phone's side
by side each week (the phone's hatched), and the five most reserved products below, as a
PNG fit for a phone screen (1080 × 1350 px).

It draws only what ``FiguresService`` returns, never counts anything itself. matplotlib
(Agg) is imported inside ``draw`` only: importing this module costs nothing. Colours are
Okabe and Ito's, told apart by colour-blind eyes; hatching and the legend say the rest.
Must not import web, conversation or channels."""

from __future__ import annotations

import io
from datetime import date

from babel.dates import format_date

from chatshop.i18n import _, french
from chatshop.services.figures import Figures

WIDTH, HEIGHT, DPI = 1080, 1350, 150
COLLECTED, EXPIRED, CANCELLED = "#0072B2", "#E69F00", "#CC79A7"  # Okabe–Ito
TOP = "#009E73"  # the products: a colour of their own, no outcome
PHONE_HATCH = "///"


def short_day(day: date) -> str:
    """« 30 nov. », « 1er déc. » (Babel's fr_FR abbreviations)."""
    month = format_date(day, "MMM", locale=french())
    return f"{'1er' if day.day == 1 else day.day}\u00a0{month}"


def draw(figures: Figures) -> bytes:
    """The chart of ``figures`` as PNG bytes (the same bytes for the same figures)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    # A Figure of its own (not pyplot's global list): nothing to close, nothing shared
    # between two charts drawn at once.
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    weeks_axes, top_axes = figure.subplots(2, 1, height_ratios=(3, 2))
    title = _("The last 8 weeks") if figures.scope is None \
        else _("{shop}: the last 8 weeks").format(shop=figures.scope)
    figure.suptitle(title, fontsize=13, fontweight="bold")

    width = 0.38
    outcomes = ((_("Picked up"), COLLECTED, "collected"), (_("Expired holds"), EXPIRED, "expired"),
                (_("Cancelled"), CANCELLED, "cancelled"))
    for offset, source, hatch in ((-width / 2, "chat", ""), (width / 2, "phone", PHONE_HATCH)):
        places = [n + offset for n in range(len(figures.weeks))]
        bottoms = [0] * len(figures.weeks)
        for _label, colour, outcome in outcomes:
            heights = [getattr(getattr(week, outcome), source) for week in figures.weeks]
            weeks_axes.bar(places, heights, width, bottom=bottoms, color=colour,
                           hatch=hatch, edgecolor="white", linewidth=0.8)
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    weeks_axes.set_xticks(range(len(figures.weeks)),
                          [short_day(week.monday) for week in figures.weeks], fontsize=9)
    weeks_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    weeks_axes.set_ylabel(_("Reservations"))
    weeks_axes.spines[["top", "right"]].set_visible(False)
    legend = [Patch(facecolor=colour, label=label) for label, colour, _o in outcomes]
    legend += [Patch(facecolor="white", edgecolor="#444444", label=_("In the chat")),
               Patch(facecolor="white", edgecolor="#444444", hatch=PHONE_HATCH,
                     label=_("By phone"))]
    weeks_axes.legend(handles=legend, ncols=3, fontsize=8, frameon=False,
                      loc="upper center", bbox_to_anchor=(0.5, -0.08))

    top_axes.set_title(_("Most reserved (units)"), fontsize=11, loc="left")
    if figures.top:
        names = [_shortened(item.name) for item in reversed(figures.top)]
        units = [item.units for item in reversed(figures.top)]
        bars = top_axes.barh(names, units, color=TOP)
        top_axes.bar_label(bars, padding=3, fontsize=9)
        top_axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        top_axes.tick_params(axis="y", labelsize=9)
    else:
        top_axes.set_axis_off()
        top_axes.text(0.5, 0.5, _("No product reserved these weeks"), ha="center",
                      va="center", transform=top_axes.transAxes)
    top_axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout(rect=(0, 0, 1, 0.97))

    out = io.BytesIO()
    # No date nor version written in the file: the same figures give the same bytes.
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _shortened(name: str, most: int = 28) -> str:
    return name if len(name) <= most else name[:most - 1] + "…"
