"""The conversation's front door: ``Conversation.handle(Inbound) -> list[Reply]``.

One person's events are handled one at a time, in order (a lock per person); different
people in parallel. On every event the person is looked up (created on first contact),
their roles resolved again (customer; staff of one or more shops; operator) and their
state loaded from SQLite, so a restart loses nothing. A refusal (``DomainError``) becomes
its French sentence; anything unexpected becomes a short apology with an incident id,
the traceback going to the log only. Every reply offers a way on.
"""

from __future__ import annotations

import logging
import secrets
from zoneinfo import ZoneInfo

# Importing the flows registers their handlers.
from chatshop.conversation import (  # noqa: F401
    basket,
    customer,
    digest,
    greetings,
    merchant,
    operator,
    phone_offer,
    product_commands,
    shop_products,
    shop_settings,
)
from chatshop.conversation.context import Context, menu_button, say, to_operators
from chatshop.conversation.handlers import ANSWERS, COMMANDS, PRESSES, Takes, takes
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
    Recipient,
    Reply,
    Text,
    Unsupported,
)
from chatshop.conversation.phrases import read, request
from chatshop.conversation.turns import Turns
from chatshop.domain import product_csv
from chatshop.domain.models import Channel, Reservation, User
from chatshop.errors import DomainError
from chatshop.i18n import _, format_moment
from chatshop.services import Services
from chatshop.services.customers import LAST_SEEN_PRECISION
from chatshop.storage.interface import Store

log = logging.getLogger(__name__)

MAX_TEXT = 2_000
MAX_FILE_BYTES = product_csv.MAX_BYTES  # channels do not fetch larger files
SHOWN = "shown"  # in the state: the choices last shown, for ``Inbound.keep_choices``


class Conversation:
    """The whole chat, for every channel."""

    def __init__(self, services: Services, store: Store, *, territory: str,
                 tz: ZoneInfo) -> None:
        self._services = services
        self._store = store
        self._territory = territory
        self._tz = tz
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
        session = await self._store.conversations.session(inbound.channel, inbound.user_id)
        newcomer = session is None or not session.talked
        if session is None or session.user.display_name != inbound.display_name \
                or session.user.unreachable_at is not None \
                or now - session.user.last_seen_at >= LAST_SEEN_PRECISION:
            await services.customers.seen(inbound.channel, inbound.user_id,
                                          inbound.display_name)
            session = await self._store.conversations.session(inbound.channel,
                                                              inbound.user_id)
            assert session is not None
        user = session.user
        ctx = Context(
            services=services, user=user, actor=services.customers.actor(user),
            memberships=session.memberships, state=session.state, tz=self._tz,
            territory=self._territory, now=now,
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
            await self._store.conversations.save(user.id, ctx.state, ctx.now)
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
                handler = PRESSES.get(verb)
                if handler is None:
                    home = await customer.menu(ctx)
                    return [home.model_copy(update={"text": _(
                        "This button is no longer valid. Here is the menu.") + "\n\n" + home.text})]
                ctx.done_waiting()
                return await handler(ctx, rest.split(":") if rest else [])
            case Text(text=text):
                if offered and phone_offer.declines(text):
                    return await phone_offer.decline(ctx, [])
                if not question and phone_offer.is_the_keyboards_no(ctx, text):
                    # Telegram's reply keyboard stays on screen after other taps: its
                    # « Non merci » still takes it away.
                    return await phone_offer.decline(ctx, ["later"])
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
                return await customer.communes(ctx, [])
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
            ctx.state["answering"] = waiting
            try:
                return await ANSWERS[str(waiting["kind"])](ctx, text)
            except DomainError:
                if ctx.awaiting() is None:  # let them type it again
                    ctx.state["await"] = waiting
                raise
            finally:
                ctx.state.pop("answering", None)
        return await customer.search(ctx, request(reading.rest or text))

    async def shown_choices(self, channel: Channel, user_id: str) -> list[Button]:
        """The choices last shown to this person (kept when their channel asks it with
        ``Inbound.keep_choices``), for the channel to recognise a title typed."""
        session = await self._store.conversations.session(channel, user_id)
        kept = session.state.get(SHOWN) if session is not None else None
        try:
            return [Button(label=label, payload=payload) for label, payload in kept or []]
        except (TypeError, ValueError):  # not what ``_handle`` writes: none to recognise
            return []

    def file_lost(self) -> Reply:
        """For a channel that could not fetch a file someone sent: ask for it again."""
        return say(_("Sorry, your file did not reach us. Please send it again."))

    async def tick(self) -> list[Reply]:
        """Scheduled work: expire overdue reservations and send reminders. Returns the
        notifications to deliver (run it every few minutes, and at start-up)."""
        services = self._services
        out: list[Reply] = []
        for each in await services.reservations.expire_overdue():
            out += await self._tell(each, expired=True)
        for each in await services.reservations.due_for_reminder():
            out += await self._tell(each, expired=False)
            await services.reservations.mark_reminded(each.id)
        return out

    async def unreachable(self, person: User, reservation_id: int) -> list[Reply]:
        """``person`` blocked the bot and missed news of this reservation: if they are its
        customer, the shop's staff are told (with the phone number, if shared)."""
        reservation = await self._services.reservations.get(reservation_id)
        if reservation is None:
            return []
        if reservation.user_id != person.id:
            return await self._staff_unreachable(person, reservation)
        text = _("⚠️ We could not tell the customer of reservation {code} about it: they "
                 "blocked the bot.").format(code=reservation.code)
        if person.phone:
            text += "\n" + _("📞 Their phone: {phone}").format(phone=person.phone)
        out = []
        for staff in await self._services.shops.people_to_notify(reservation.shop_id):
            out.append(Reply(text=text, buttons=((menu_button(),),), to=Recipient(
                channel=staff.channel, user_id=staff.external_id,
                display_name=staff.display_name)))
        return out

    async def _staff_unreachable(self, person: User, reservation: Reservation
                                 ) -> list[Reply]:
        """Someone who runs a shop blocked the bot: the territory's operators are told,
        so that they can call the shop."""
        shop = await self._services.shops.get(reservation.shop_id)
        text = _("⚠️ {name} ({shop}) blocked the bot: the news of reservation {code} did not "
                 "reach them. Perhaps call the shop.").format(
            name=person.display_name or "?", shop=shop.name, code=reservation.code)
        return to_operators(self._services, text)

    async def _tell(self, reservation: Reservation, *, expired: bool) -> list[Reply]:
        person = await self._services.customers.get(reservation.user_id)
        pickup = await self._services.shops.get(reservation.shop_id)
        if person is None:
            return []
        if expired:
            text = customer.customer_news(reservation, pickup.name)
        else:
            text = _("⏰ Reminder: your reservation {code} waits for you at {shop} until "
                     "{deadline}. Payment in the shop.").format(
                code=reservation.code, shop=pickup.name,
                deadline=format_moment(reservation.deadline_at, self._tz))
        ctx_reply = Reply(text=text, buttons=((Button(label=_("📋 My reservations"),
                                                      payload="rs"), menu_button()),))
        return [ctx_reply.model_copy(update={"regarding": reservation.id, "to": Recipient(
            channel=person.channel, user_id=person.external_id,
            display_name=person.display_name)})]
