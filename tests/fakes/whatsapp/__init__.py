"""An in-process fake of the WhatsApp Cloud API (see tests/fakes/whatsapp/api.py), in parts:
``meta`` (Meta's ids, limits and error codes), ``records`` (what it keeps and tests read),
``parser`` and ``transport`` (the HTTP side), ``checks`` (WhatsApp's limits on what a business
sends), ``payloads`` (the webhook payloads Meta posts) and ``api`` (the fake itself)."""
