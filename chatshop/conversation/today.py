"""« 📋 Aujourd'hui » (#12 §2), for the shop's staff: the reservations to prepare and to
hand over today, the late ones, with their buttons, and the same list as a PDF to
print; the morning message's words."""

from __future__ import annotations
