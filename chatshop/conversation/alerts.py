"""« 🔔 Prévenez-moi quand il revient » (#12 §3), for customers: asking on a sold-out
product's card, « Mes alertes » to list and cancel them, and the message that says a
product is back (with « Réserver 1 »)."""

from __future__ import annotations
