"""The territory's channel (``CHATSHOP_TELEGRAM_CHANNEL``): the shops' news posted there
as it happens — products new on the shelves or back in stock, announcements — grouped
per shop (``services/channel_posts.py`` decides when), each post with a photo and a
button that opens the product, or the shop, in the bot.

The posts go through the outbox like every message for someone else, to the channel's
chat on Telegram. When the bot cannot post there (it is not an administrator, the chat
does not exist), no customer is concerned: the post waits in the outbox and is tried
again now and then, nothing more is composed meanwhile (the news gathers), and the
territory's operators are told once, then once again when posts go through.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from chatshop.conversation.context import to_operators
from chatshop.conversation.messages import Link, Recipient, Reply
from chatshop.delivery.outcome import Gone, Later, Message, Outcome, Platform, Refused, Sent
from chatshop.domain.models import Channel, ListedProduct
from chatshop.i18n import _, format_money, ngettext
from chatshop.services import Services
from chatshop.services.channel_posts import ChannelNews
from chatshop.services.delivery import Outgoing
from chatshop.services.links import Links, product_payload, shop_payload

log = logging.getLogger(__name__)

CHANNEL: Channel = "telegram"
EVERY = 60.0  # seconds between looks at the shops' news
LINES = 8  # products listed in one post, at most
RETRY_UNREACHABLE = 30 * 60.0  # seconds between tries while the bot cannot post there
# What Telegram answers when the chat itself is the trouble, not the message.
_CHAT_TROUBLE = ("chat not found", "not enough rights", "need administrator rights",
                 "not a member", "kicked", "chat_write_forbidden", "have no rights",
                 "migrated")


def compose(news: ChannelNews, links: Links, chat: str) -> Reply:
    """The post telling ``news``: one line for one product (« 🆕 Nouveau chez … : Savon
    lavande — 6,50 € »), else a title and one line per product (8 at most, then « … et
    N autres »); the shop's announcement first; the first photo found; a button to the
    product (one) or the shop (several) in the bot."""
    shop, commune = news.shop.name, news.commune_name
    lines: list[str] = []
    if news.announcement:
        lines.append(_("📣 {shop}: {announcement}").format(shop=shop,
                                                         announcement=news.announcement))
    products = news.products
    if len(products) == 1 and not news.announcement:
        head = (_("🆕 New at {shop} ({commune}): {product}") if news.new
                else _("🔁 Back at {shop} ({commune}): {product}"))
        lines.append(head.format(shop=shop, commune=commune, product=_line(products[0])))
    else:
        room = LINES
        for group, head in ((news.new, _("🆕 New at {shop} ({commune}):")),
                            (news.back, _("🔁 Back at {shop} ({commune}):"))):
            if not group:
                continue
            lines.append(head.format(shop=shop, commune=commune))
            lines += ["• " + _line(listed) for listed in group[:room]]
            room = max(room - len(group), 0)
        if len(products) > LINES:
            others = len(products) - LINES
            lines.append(ngettext("… and {count} other", "… and {count} others",
                                  others).format(count=others))
    if len(products) == 1:
        url = links.telegram(product_payload(products[0]))
        label = _("🛒 See it in the bot and reserve")
    else:
        url = links.telegram(shop_payload(news.shop))
        label = _("🏪 See the shop in the bot")
    return Reply(text="\n".join(lines), photo=_photo(news),
                 link=None if url is None else Link(label=label, url=url),
                 to=Recipient(channel=CHANNEL, user_id=chat))


def _line(listed: ListedProduct) -> str:
    return _("{name} — {price}").format(name=listed.product.name,
                                        price=format_money(listed.product.price_cents))


def _photo(news: ChannelNews) -> str | None:
    """The first photo Telegram can show: a Telegram file id, or a photo chatshop kept."""
    for photos in [listed.product.photos for listed in news.products] + [news.shop.photos]:
        if CHANNEL in photos:
            return photos[CHANNEL]
        kept = [ref for ref in photos.values() if ref.startswith("media:")]
        if kept:
            return kept[0]
    return None


class ChannelFeed:
    """The feed of one channel: its job (``post``) and what its posts' outcomes mean."""

    def __init__(self, services: Services, chat: str, links: Links,
                 rows: Callable[[Sequence[Reply]], list[Outgoing]],
                 tell: Callable[[Sequence[Reply]], Awaitable[None]],
                 kick: Callable[[Channel], None]) -> None:
        """``rows``: replies as outbox rows (the outbox's ``rows``); ``tell``: queue
        notifications (the outbox's ``queue``); ``kick``: deliver a channel soon."""
        self.chat = chat
        self._services = services
        self._links = links
        self._rows = rows
        self._tell = tell
        self._kick = kick

    async def post(self) -> list[ChannelNews]:
        """Post the shops' news that is due (see ``ChannelPostService.post_due``)."""
        posted = await self._services.channel_posts.post_due(
            self.chat, lambda news: self._rows([compose(news, self._links, self.chat)]))
        if posted:
            self._kick(CHANNEL)
        return posted

    async def outcome(self, outcome: Outcome) -> Outcome:
        """What a post's outcome means for the outbox. Telegram refusing the chat (the
        bot is no administrator there, no such chat) is no customer gone and no broken
        message: the post waits and is tried again later; the operators hear of it once."""
        match outcome:
            case Sent():
                if await self._services.channel_posts.reached(self.chat):
                    log.info("posting in %s works again", self.chat)
                    await self._tell(to_operators(self._services, _(
                        "✅ The bot can post in the channel {chat} again: the shops' news "
                        "goes on.").format(chat=self.chat)))
                return outcome
            case Gone(reason=reason) | Refused(reason=reason) if _about_chat(outcome):
                if await self._services.channel_posts.trouble(self.chat, reason):
                    log.warning("the bot cannot post in %s: %s", self.chat, reason)
                    await self._tell(to_operators(self._services, _(
                        "⚠️ The bot cannot post in the channel {chat} (Telegram says: "
                        "{reason}). Make the bot an administrator of the channel, with the "
                        "right to post; the shops' news will follow by itself.").format(
                            chat=self.chat, reason=reason)))
                return Later(reason, wait=RETRY_UNREACHABLE)
        return outcome


def _about_chat(outcome: Outcome) -> bool:
    """Whether Telegram refused the chat itself (a 403, « chat not found »...)."""
    if isinstance(outcome, Gone):
        return True
    return isinstance(outcome, Refused) and any(
        words in outcome.reason.lower() for words in _CHAT_TROUBLE)


class FeedingPlatform:
    """A platform whose messages to the channel's chat tell the feed what became of
    them; every other message is the platform's, as it is."""

    def __init__(self, platform: Platform, feed: ChannelFeed) -> None:
        self.inner = platform
        self._feed = feed

    @property
    def name(self) -> Channel:
        return self.inner.name

    @property
    def keep_events(self) -> timedelta:
        return self.inner.keep_events

    def pieces(self, reply: Reply) -> list[Reply]:
        return self.inner.pieces(reply)

    async def send(self, message: Message) -> Outcome:
        outcome = await self.inner.send(message)
        if message.recipient != self._feed.chat:
            return outcome
        return await self._feed.outcome(outcome)

    async def taken(self, platform_id: str) -> None:
        await self.inner.taken(platform_id)
