"""The fake Bot API over real HTTP, by its old address: ``from tests.fakes.bot_api_http import
BotAPIServer``. It lives in tests/fakes/telegram/server.py; this module only names it."""

from tests.fakes.telegram.server import BotAPIServer, decode_parameters

__all__ = ["BotAPIServer", "decode_parameters"]
