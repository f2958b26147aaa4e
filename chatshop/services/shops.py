"""The territory's shops: communes, shop cards, staff and invites, hosting (dépôt)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta

from chatshop.clock import Clock
from chatshop.domain.codes import invite_code, is_slug, normalise_code, slugify
from chatshop.domain.limits import ANNOUNCEMENT_MAX
from chatshop.domain.models import (
    Actor,
    Channel,
    Commune,
    Hosting,
    HostingStatus,
    Invite,
    OpeningInterval,
    Page,
    Role,
    Shop,
    ShopDetails,
    StaffMember,
    TerritoryFigures,
    User,
)
from chatshop.domain.parsing import (
    check_id,
    check_photo,
    clean_description,
    clean_name,
    clean_phone,
    page_window,
)
from chatshop.errors import InvalidInput, NotAllowed, NotFound
from chatshop.i18n import _
from chatshop.services.access import Access
from chatshop.storage.interface import Store

INVITE_VALIDITY = timedelta(days=7)
SHOP_NAME_MAX = 80
ADDRESS_MAX = 200
SHOP_TEXT_MAX = 500


def clean_details(details: ShopDetails) -> ShopDetails:
    """The same details with every text checked and tidied (or ``InvalidInput``)."""
    changes: dict[str, object] = {}
    if details.name is not None:
        changes["name"] = clean_name(details.name, max_length=SHOP_NAME_MAX)
    if details.address is not None:
        changes["address"] = clean_description(details.address, max_length=ADDRESS_MAX)
    if details.phone is not None:
        changes["phone"] = clean_phone(details.phone) if details.phone.strip() else ""
    for field in ("description", "pickup_instructions", "holiday_message"):
        value = getattr(details, field)
        if value is not None:
            changes[field] = clean_description(value, max_length=SHOP_TEXT_MAX)
    if (details.latitude is None) != (details.longitude is None):
        raise InvalidInput(_("Please give both latitude and longitude."))
    return details.model_copy(update=changes)


class ShopService:
    def __init__(self, store: Store, access: Access, clock: Clock) -> None:
        self._store = store
        self._access = access
        self._clock = clock

    # -- communes and shops -----------------------------------------------------------

    async def add_commune(self, actor: Actor, name: str, postcode: str = "") -> Commune:
        self._access.require_operator(actor)
        return await self._store.shops.add_commune(clean_name(name, max_length=60),
                                                   postcode.strip()[:10])

    async def communes(self) -> list[Commune]:
        return await self._store.shops.communes()

    async def communes_with_shops(self) -> list[Commune]:
        """The communes customers can browse: those with at least one active shop (a
        shop closed for the holidays still counts: its card says when it reopens)."""
        return await self._store.shops.communes_with_shops()

    async def commune(self, commune_id: int) -> Commune | None:
        return await self._store.shops.commune(check_id(commune_id, "commune"))

    async def create_shop(self, actor: Actor, name: str, commune_id: int,
                          details: ShopDetails | None = None) -> Shop:
        """The operator opens a new shop on chatshop (its owner comes by invite)."""
        self._access.require_operator(actor)
        clean = clean_name(name, max_length=SHOP_NAME_MAX)
        tidy = clean_details((details or ShopDetails()).model_copy(update={"name": None}))
        return await self._store.shops.create_shop(clean, slugify(clean),
                                                   check_id(commune_id, "commune"),
                                                   self._clock(), tidy)

    async def update_shop(self, actor: Actor, shop_id: int, details: ShopDetails) -> Shop:
        """Staff edit their shop's card; only the operator (de)activates a shop."""
        await self._access.require_staff(actor, shop_id)
        if details.active is not None or details.commune_id is not None:
            self._access.require_operator(actor)
        if details.commune_id is not None and await self._store.shops.commune(
                check_id(details.commune_id, "commune")) is None:
            raise NotFound("commune", details.commune_id)
        return await self._store.shops.update_shop(shop_id, clean_details(details))

    async def set_hours(self, actor: Actor, shop_id: int,
                        intervals: Sequence[OpeningInterval]) -> Shop:
        await self._access.require_staff(actor, shop_id)
        ordered = sorted(intervals, key=lambda i: (i.weekday, i.opens))
        for before, after in itertools.pairwise(ordered):
            if before.weekday == after.weekday and after.opens < before.closes:
                raise InvalidInput(_("Two opening times overlap on the same day."))
        return await self._store.shops.set_hours(shop_id, ordered)

    async def set_holiday(self, actor: Actor, shop_id: int, on_holiday: bool,
                          message: str = "") -> Shop:
        """Close the shop for holidays (reservations are refused) or open it again."""
        return await self.update_shop(actor, shop_id, ShopDetails(on_holiday=on_holiday,
                                                                  holiday_message=message))

    async def set_announcement(self, actor: Actor, shop_id: int, text: str) -> Shop:
        """The shop's word for the weekly digest (500 characters at most; empty: none)."""
        await self._access.require_staff(actor, shop_id)
        cleaned = clean_description(text, max_length=ANNOUNCEMENT_MAX)
        return await self._store.shops.set_announcement(shop_id, cleaned, self._clock())

    async def set_photo(self, actor: Actor, shop_id: int, channel: Channel,
                        file_ref: str) -> Shop:
        """The shop's picture on one channel (a Telegram file_id, a WhatsApp media id)."""
        await self._access.require_staff(actor, shop_id)
        await self._store.shops.set_photo(shop_id, *check_photo(channel, file_ref))
        return await self.get(shop_id)

    async def get(self, shop_id: int) -> Shop:
        shop = await self._store.shops.get(check_id(shop_id, "shop"))
        if shop is None:
            raise NotFound("shop", shop_id)
        return shop

    async def by_slug(self, slug: str) -> Shop:
        """The shop of a shared link (``?start=`` payloads carry its slug)."""
        shop = await self._store.shops.by_slug(slug) if is_slug(slug) else None
        if shop is None:
            raise NotFound("shop", slug)
        return shop

    async def browse_all(self, actor: Actor, *, offset: int = 0,
                         limit: int = 8) -> Page[Shop]:
        """Every shop, deactivated ones included: the operator's list."""
        self._access.require_operator(actor)
        offset, limit = page_window(offset, limit)
        return await self._store.shops.browse(active_only=False, offset=offset, limit=limit)

    async def figures(self, actor: Actor, now: datetime) -> TerritoryFigures:
        """The territory at a glance, for the operator (reservations of the last 7 days)."""
        self._access.require_operator(actor)
        return await self._store.shops.figures(now - timedelta(days=7))

    async def browse(self, *, commune_id: int | None = None, offset: int = 0,
                   limit: int = 8) -> Page[Shop]:
        """Active shops, by name, for customers to browse."""
        offset, limit = page_window(offset, limit)
        return await self._store.shops.browse(
            commune_id=None if commune_id is None else check_id(commune_id, "commune"),
            offset=offset, limit=limit)

    # -- staff and invites ------------------------------------------------------------

    async def invite(self, actor: Actor, shop_id: int, role: Role) -> Invite:
        """An invite code: owners are invited by the operator, staff by an owner."""
        await self.get(shop_id)
        if role is Role.OWNER:
            self._access.require_operator(actor)
        else:
            await self._access.require_staff(actor, shop_id, owner=True)
        now = self._clock()
        return await self._store.shops.create_invite(Invite(
            code=invite_code(), shop_id=shop_id, role=role, created_by=actor.user_id,
            created_at=now, expires_at=now + INVITE_VALIDITY,
        ))

    async def accept_invite(self, user_id: int, code: str) -> StaffMember:
        return await self._store.shops.use_invite(normalise_code(code), user_id, self._clock())

    async def staff(self, actor: Actor, shop_id: int) -> list[StaffMember]:
        await self._access.require_staff(actor, shop_id)
        return await self._store.shops.staff_of(shop_id)

    async def remove_staff(self, actor: Actor, shop_id: int, user_id: int) -> None:
        """An owner (or the operator) removes someone; a shop always keeps an owner."""
        await self._access.require_staff(actor, shop_id, owner=True)
        await self._store.shops.remove_staff(shop_id, check_id(user_id, "staff"))

    async def people_to_notify(self, shop_id: int) -> list[User]:
        """Everyone who runs the shop, to be told of its reservations (no actor: the bot
        itself asks, and the list never leaves the conversation)."""
        return await self._store.shops.staff_users(check_id(shop_id, "shop"))

    async def people_who_run_shops(self, channel: Channel) -> list[User]:
        """Everyone on ``channel`` who runs a shop (for their command menus)."""
        return await self._store.shops.all_staff_users(channel)

    async def memberships(self, user_id: int) -> list[StaffMember]:
        return await self._store.shops.memberships(user_id)

    # -- hosting (dépôt) --------------------------------------------------------------

    async def ask_hosting(self, actor: Actor, maker_shop_id: int, host_shop_id: int) -> Hosting:
        """The maker asks a host shop to display and collect its products."""
        await self._access.require_staff(actor, maker_shop_id)
        if maker_shop_id == host_shop_id:
            raise InvalidInput(_("A shop cannot host itself."))
        await self.get(host_shop_id)
        return await self._store.shops.propose_hosting(host_shop_id, maker_shop_id,
                                                       self._clock())

    async def accept_hosting(self, actor: Actor, host_shop_id: int,
                             maker_shop_id: int) -> Hosting:
        """The host shop agrees: the maker may now place products there."""
        await self._access.require_staff(actor, host_shop_id)
        return await self._store.shops.decide_hosting(
            host_shop_id, check_id(maker_shop_id, "shop"), HostingStatus.ACCEPTED,
            self._clock())

    async def end_hosting(self, actor: Actor, host_shop_id: int, maker_shop_id: int) -> Hosting:
        """Either side ends the agreement (or declines it); products go back to the maker.
        Reservations already made are still collected at the host."""
        check_id(maker_shop_id, "shop")
        try:
            await self._access.require_staff(actor, host_shop_id)
        except NotAllowed:
            await self._access.require_staff(actor, maker_shop_id)
        return await self._store.shops.decide_hosting(host_shop_id, maker_shop_id,
                                                      HostingStatus.ENDED, self._clock())

    async def hostings(self, actor: Actor, shop_id: int) -> list[Hosting]:
        await self._access.require_staff(actor, shop_id)
        return await self._store.shops.hostings_of(shop_id)
