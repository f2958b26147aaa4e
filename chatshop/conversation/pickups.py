"""« Quand passez-vous ? » (#12 §4), for customers of a shop that asks: the next
opening slots up to the reservation's deadline, or « Je ne sais pas encore »; and the
shop's rules that go with it (the settings screen « 🗓 Retraits et règles »)."""

from __future__ import annotations
