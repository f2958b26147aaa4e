"""At the counter and on the phone (#12 §1), for the shop's staff: « /reserver savon
lavande x2 pour Mme Dupont 06 12 34 56 78 » or « 📞 Réservation par téléphone » on a
product's screen; « /vendu savon 2 » or « 🧾 Vendu en boutique »; the phone reservation's
person exported or erased on request."""

from __future__ import annotations
