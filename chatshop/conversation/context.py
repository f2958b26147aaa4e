"""What a handler knows about the event it answers: who, their roles, their state."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from chatshop.conversation.messages import MAX_BUTTONS, Button, Recipient, Reply
from chatshop.conversation.prompts import P, Prompt, reread
from chatshop.conversation.routes import MENU, Route, Value
from chatshop.domain.models import Actor, Channel, Role, Shop, StaffMember, User
from chatshop.i18n import _
from chatshop.services import Services
from chatshop.services.links import Links


@dataclass
class Context:
    services: Services
    user: User
    actor: Actor
    memberships: list[StaffMember]
    state: dict[str, Any]
    tz: ZoneInfo
    territory: str
    now: datetime
    links: Links = field(default_factory=Links)  # the window's and the bot's addresses
    notifications: list[Reply] = field(default_factory=list)
    _shops: dict[int, Shop] = field(default_factory=dict)

    async def shop(self, shop_id: int) -> Shop:
        """A shop, read once per event (a confirmation and its notifications name the
        same shop several times). Do not use it after changing that shop."""
        if shop_id not in self._shops:
            self._shops[shop_id] = await self.services.shops.get(shop_id)
        return self._shops[shop_id]

    async def person(self, user_id: int) -> User | None:
        """Someone of this conversation: the writer themselves without a query."""
        if user_id == self.user.id:
            return self.user
        return await self.services.customers.get(user_id)

    @property
    def channel(self) -> Channel:
        return self.user.channel

    @property
    def is_operator(self) -> bool:
        return self.actor.is_operator

    @property
    def shop_ids(self) -> list[int]:
        """The shops this person runs, owner or staff."""
        return [m.shop_id for m in self.memberships]

    def owns(self, shop_id: int) -> bool:
        return any(m.shop_id == shop_id and m.role is Role.OWNER for m in self.memberships)

    def awaiting(self) -> dict[str, Any] | None:
        """What the bot asked this person to type, if anything."""
        waiting = self.state.get("await")
        return waiting if isinstance(waiting, dict) else None

    def expect(self, prompt: Prompt) -> None:
        """The next text this person types answers ``prompt`` (a price, a reason...)."""
        self.state["await"] = prompt.saved()

    def waiting_for(self, kind: type[P]) -> P | None:
        """The prompt on the screen, if it is a ``kind`` (typed), else None."""
        return reread(kind, self.awaiting())

    def done_waiting(self) -> None:
        self.state.pop("await", None)

    def photo(self, photos: dict[Channel, str]) -> str | None:
        """The picture to show on this person's channel: the one taken there, else a
        file kept by chatshop (``media:…``, a photo sent on WhatsApp) that any channel
        can upload; a platform's own file id means nothing to another platform."""
        own = photos.get(self.channel)
        if own is not None:
            return own
        return next((ref for ref in photos.values() if ref.startswith("media:")), None)

    def notify(self, recipient: User, reply: Reply) -> None:
        """Send ``reply`` to someone else (a shopkeeper, a customer) after this event."""
        self.notifications.append(reply.model_copy(update={"to": Recipient(
            channel=recipient.channel, user_id=recipient.external_id,
            display_name=recipient.display_name)}))


def nonce() -> str:
    """A few random characters making a confirmation button unique (idempotency key)."""
    return secrets.token_urlsafe(4)


def menu_button() -> Button:
    return _button(_("🏠 Menu"), MENU.payload())


def back_label() -> str:
    return _("⬅️ Back")


def back_and_menu(back: str | None = None) -> tuple[Button, ...]:
    """The way on that every screen offers: back (if there is a back) and the menu."""
    if back is None:
        return (menu_button(),)
    return (_button(back_label(), back), menu_button())


def pager(route: Route, offset: int, size: int, *, more: bool, previous: bool = True,
          **fixed: Value | None) -> tuple[Button, ...]:
    """« ◀️ Previous » / « Next ▶️ » around a page of ``size`` items from ``offset``:
    ``route``'s buttons, with the offset of the page before and after (``fixed``: the
    route's other arguments). ``more``: there are items after this page; ``previous``:
    offer to go back (not where the screen has no room for it)."""
    buttons = []
    if previous and offset > 0:
        buttons.append(Button(label=_("◀️ Previous"),
                              payload=route.payload(offset=max(offset - size, 0), **fixed)))
    if more:
        buttons.append(Button(label=_("Next ▶️"),
                              payload=route.payload(offset=offset + size, **fixed)))
    return tuple(buttons)


@lru_cache(maxsize=256)
def _button(label: str, payload: str) -> Button:
    """The buttons on every screen, built once (a button is immutable)."""
    return Button(label=label, payload=payload)


def to_operators(services: Services, text: str) -> list[Reply]:
    """``text`` for each of the territory's operators (news only they can act on)."""
    return [say(text).model_copy(update={"to": Recipient(channel=channel, user_id=user_id)})
            for channel, user_id in sorted(services.customers.operators)]


def say(text: str, *rows: tuple[Button, ...], back: str | None = None,
        edit: bool = False, photo: str | None = None) -> Reply:
    """A reply with ``rows`` of buttons and, always, a way on (« Menu »; « Back » too
    when there is one and the screen has room for it: 8 buttons at most). A way on that
    a row already offers (« No » going to the menu) is not repeated: WhatsApp refuses
    two buttons with the same id."""
    way_on = back_and_menu(back)
    if sum(len(row) for row in rows) + len(way_on) > MAX_BUTTONS:
        way_on = (menu_button(),)
    offered = {button.payload for row in rows for button in row}
    way_on = tuple(button for button in way_on if button.payload not in offered)
    return Reply(text=text, buttons=(*rows, way_on) if way_on else rows, edit=edit,
                 photo=photo)
