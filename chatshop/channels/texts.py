"""Cutting long texts into messages a platform accepts (Telegram: 4 096 characters, a
caption 1 024; WhatsApp: 4 096, an interactive body 1 024), and shortening labels."""

from __future__ import annotations


def pieces(text: str, first_max: int = 4_096, rest_max: int = 4_096) -> list[str]:
    """``text`` cut into messages a platform accepts, at line breaks where possible (else
    at a space): the first piece at most ``first_max`` characters (a caption), the others
    ``rest_max``."""
    out: list[str] = []
    limit = first_max
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
        limit = rest_max
    out.append(rest)
    return [piece for piece in out if piece] or [""]


def shorten(label: str, limit: int) -> str:
    """``label`` in at most ``limit`` characters, cut at a word with « … » if needed."""
    label = " ".join(label.split())
    if len(label) <= limit:
        return label
    cut = label[:limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,.;:-·") + "…"
