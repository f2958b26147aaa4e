"""« 📊 Chiffres » (#12 §6): the last 8 weeks as a picture and as text, for the shop's
staff (« /chiffres ») and the territory's operator; on Monday for shops that ask."""

from __future__ import annotations
