"""An in-process fake of the Telegram Bot API (see tests/fakes/telegram/api.py), in four parts:
``records`` (what it keeps and tests read), ``parser`` (how it reads what a bot sends),
``transport`` (the ``BaseRequest`` python-telegram-bot talks to) and ``api`` (the fake itself,
its Bot API methods in ``methods`` and its state in ``state``)."""
