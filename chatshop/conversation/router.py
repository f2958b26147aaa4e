"""The conversation's front door: ``Conversation.handle(Inbound) -> list[Reply]``.

One person's events are handled one at a time, in order (a lock per person); different
people in parallel. On every event the person is looked up (created on first contact),
their roles resolved again (customer; staff of one or more shops; operator) and their
state loaded through the conversation service, so a restart loses nothing. A refusal
(``DomainError``) becomes its French sentence; anything unexpected becomes a short
apology with an incident id, the traceback going to the log only. Every reply offers a
way on.
"""

from __future__ import annotations

import logging
import secrets
from zoneinfo import ZoneInfo

# Importing the flows registers their handlers.
from chatshop.conversation import (  # noqa: F401
    alerts,
    basket,
    counter,
    customer,
    digest,
    figures,
    greetings,
    merchant,
    notices,
    operator,
    phone_offer,
    pickups,
    product_commands,
    sharing,
    shop_products,
    shop_settings,
    today,
)
from chatshop.conversation.context import Context, say
from chatshop.conversation.handlers import (
    ANSWERS,
    COMMANDS,
    PROMPTS,
    Takes,
    dispatch_press,
    takes,
)
from chatshop.conversation.messages import (
    Button,
    Command,
    ContactIn,
    DocumentIn,
    Event,
    Inbound,
    LocationIn,
    PhotoIn,
    Press,
    Reply,
    Text,
    Unsupported,
)
from chatshop.conversation.phrases import read, request
from chatshop.conversation.prompts import reread
from chatshop.conversation.turns import Turns
from chatshop.domain import product_csv
from chatshop.domain.models import Channel, Reservation, User
from chatshop.errors import DomainError
from chatshop.i18n import _
from chatshop.services import Services
from chatshop.services.customers import LAST_SEEN_PRECISION
from chatshop.services.links import Links

log = logging.getLogger(__name__)

MAX_TEXT = 2_000
MAX_FILE_BYTES = product_csv.MAX_BYTES  # channels do not fetch larger files
SHOWN = "shown"  # in the state: the choices last shown, for ``Inbound.keep_choices``


class Conversation:
    """The whole chat, for every channel."""

    def __init__(self, services: Services, *, territory: str, tz: ZoneInfo,
                 links: Links | None = None) -> None:
        self._services = services
        self._territory = territory
        self._tz = tz
        self.links = links if links is not None else Links()
        self._turns: Turns[tuple[str, str]] = Turns()

    @property
    def territory(self) -> str:
        return self._territory

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Answer one event; notifications for other people come back with ``to`` set."""
        async with self._turns.of((inbound.channel, inbound.user_id)):
            return await self._handle(inbound)

    async def _handle(self, inbound: Inbound) -> list[Reply]:
        services = self._services
        now = services.clock()
        session = await services.conversations.session(inbound.channel, inbound.user_id)
        newcomer = session is None or not session.talked
        if session is None or session.user.display_name != inbound.display_name \
                or session.user.unreachable_at is not None \
                or now - session.user.last_seen_at >= LAST_SEEN_PRECISION:
            await services.customers.seen(inbound.channel, inbound.user_id,
                                          inbound.display_name)
            session = await services.conversations.session(inbound.channel,
                                                           inbound.user_id)
            assert session is not None
        user = session.user
        ctx = Context(
            services=services, user=user, actor=services.customers.actor(user),
            memberships=session.memberships, state=session.state, tz=self._tz,
            territory=self._territory, now=now, links=self.links,
        )
        before = dict(ctx.state)
        event = inbound.event
        try:
            if newcomer:
                replies = await greetings.first_contact(
                    ctx, event, lambda: self._dispatch(ctx, event))
            else:
                replies = await self._dispatch(ctx, event)
        except DomainError as refusal:
            replies = [say(refusal.message())]
        except Exception:
            incident = secrets.token_hex(3).upper()
            log.exception("incident %s while handling %s from %s:%s", incident,
                          inbound.event.kind, inbound.channel, inbound.user_id)
            replies = [say(_("Sorry, something went wrong on our side (incident {id}). "
                             "Please try again in a moment.").format(id=incident))]
        greetings.remember(ctx, replies)
        if inbound.keep_choices and replies:  # its people type the titles they were shown
            ctx.state[SHOWN] = [[b.label, b.payload] for r in replies for b in r.all_buttons]
        if ctx.state != before or newcomer:  # a newcomer is welcomed once
            await services.conversations.save(user.id, ctx.state, ctx.now)
        # A question whose answer is typed (a photo awaited is not one: text is a search).
        if (answer := takes(ctx.awaiting())) is not None and replies:
            replies[-1] = replies[-1].model_copy(update={
                "expects_text": True, "expects_number": answer is Takes.NUMBER})
        return [*replies, *ctx.notifications]

    async def _dispatch(self, ctx: Context, event: Event) -> list[Reply]:
        # An offer to share one's number lasts until the next event, which may answer it.
        offered = bool(ctx.state.pop(phone_offer.OFFER, None))
        # So does a yes/no question: « oui » or « non » typed next answers it.
        question = ctx.state.pop(greetings.QUESTION, None)
        match event:
            case Command(name=name, args=args):
                ctx.done_waiting()
                handler = COMMANDS.get(name.lower().lstrip("/"))
                if handler is None:
                    home = await customer.menu(ctx)
                    return [home.model_copy(update={"text": _(
                        "I do not know this command. Here is the menu.") + "\n\n" + home.text})]
                return await handler(ctx, args.split())
            case Press(payload=payload):
                verb, _sep, rest = payload.partition(":")
                waiting = ctx.awaiting()
                ctx.done_waiting()
                pressed = await dispatch_press(ctx, verb, rest.split(":") if rest else [])
                if pressed is None:
                    if waiting is not None:  # an unknown button leaves the prompt as it was
                        ctx.state["await"] = waiting
                    home = await customer.menu(ctx)
                    return [home.model_copy(update={"text": _(
                        "This button is no longer valid. Here is the menu.") + "\n\n" + home.text})]
                return pressed
            case Text(text=text):
                if offered and phone_offer.declines(text):
                    return await phone_offer.decline(ctx)
                if not question and phone_offer.is_the_keyboards_no(ctx, text):
                    # Telegram's reply keyboard stays on screen after other taps: its
                    # « Non merci » still takes it away.
                    return await phone_offer.decline(ctx, phone_offer.LATER)
                return await self._text(ctx, text[:MAX_TEXT],
                                        question if isinstance(question, dict) else None)
            case PhotoIn(file_ref=file_ref, caption=caption, kept=kept):
                if not ctx.shop_ids:
                    return [say(_("Thank you! To find a product, simply type its name."))]
                return await product_commands.photo(ctx, file_ref, caption[:MAX_TEXT],
                                                    kept)
            case DocumentIn(file_name=file_name, data=data, too_large=too_large):
                if not ctx.shop_ids:
                    return [say(_("Sorry, only shopkeepers can send files here."))]
                if too_large:
                    return [say(_("The file is too large: {max} MB at most.").format(
                        max=MAX_FILE_BYTES // (1024 * 1024)))]
                return await merchant.document(ctx, file_name, data)
            case ContactIn(phone=phone):
                return await phone_offer.given(ctx, phone)
            case LocationIn():
                return await customer.communes(ctx)
            case Unsupported():
                home = await customer.menu(ctx)
                return [home.model_copy(update={"text": _(
                    "Sorry, I can only read text, buttons and photos. Type what you are "
                    "looking for, or choose below.") + "\n\n" + home.text})]
        raise AssertionError(f"unhandled event {event!r}")

    async def _text(self, ctx: Context, text: str, question: dict[str, str] | None
                    ) -> list[Reply]:
        """Typed text answers the question the bot asked; an everyday phrase (« bonjour »,
        « merci », « aide », « retour », « oui ») gets its answer (see ``greetings``);
        otherwise it is a search, the filler of a request left out."""
        waiting = ctx.awaiting()
        kind = str(waiting.get("kind")) if waiting is not None else None
        reading = read(text)
        answered = await greetings.everyday(ctx, reading, question,
                                            lambda payload: self._dispatch(
                                                ctx, Press(payload=payload)))
        if answered is not None:
            return answered
        if kind == "search":
            ctx.done_waiting()
        elif waiting is not None and kind in ANSWERS:
            ctx.done_waiting()
            prompt = reread(PROMPTS[str(kind)], waiting)
            if prompt is None:  # saved by an older version, or altered: not answered
                home = await customer.menu(ctx)
                return [home.model_copy(update={"text": _(
                    "Sorry, I no longer know what this answer was for. Here is the "
                    "menu.") + "\n\n" + home.text})]
            try:
                return await ANSWERS[str(kind)](ctx, text, prompt)
            except DomainError:
                if ctx.awaiting() is None:  # let them type it again
                    ctx.state["await"] = waiting
                raise
        return await customer.search(ctx, request(reading.rest or text))

    async def shown_choices(self, channel: Channel, user_id: str) -> list[Button]:
        """The choices last shown to this person (kept when their channel asks it with
        ``Inbound.keep_choices``), for the channel to recognise a title typed."""
        session = await self._services.conversations.session(channel, user_id)
        kept = session.state.get(SHOWN) if session is not None else None
        try:
            return [Button(label=label, payload=payload) for label, payload in kept or []]
        except (TypeError, ValueError):  # not what ``_handle`` writes: none to recognise
            return []

    def file_lost(self) -> Reply:
        """For a channel that could not fetch a file someone sent: ask for it again."""
        return say(_("Sorry, your file did not reach us. Please send it again."))

    def refused(self, refusal: DomainError) -> Reply:
        """For a channel that refused what someone sent (a file that is no photo): why,
        with the way on."""
        return say(refusal.message())

    async def reminder(self, reservation: Reservation) -> list[Reply]:
        """The reminder of ``reservation`` for its customer (addressed, ``regarding``
        it); none when the customer is gone."""
        return await notices.reminder(self._services, self._tz, reservation)

    async def expiry_news(self, reservation: Reservation) -> list[Reply]:
        """« Your reservation has expired », for its customer (addressed, ``regarding``
        it); none when the customer is gone."""
        return await notices.expiry_news(self._services, reservation)

    async def unreachable(self, person: User, reservation_id: int) -> list[Reply]:
        """``person`` blocked the bot and missed news of this reservation: if they are its
        customer, the shop's staff are told (with the phone number, if shared); if they
        run the shop, the territory's operators."""
        return await notices.unreachable(self._services, person, reservation_id)
