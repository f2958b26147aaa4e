"""Who may do what: the permission checks every service runs on every action.

Never trust where a request came from (a button can be forged): each action names the
object it touches, and this checks the acting person against that object's shop.
"""

from __future__ import annotations

from chatshop.domain.models import Actor, Role, Shop, User
from chatshop.domain.parsing import check_id
from chatshop.errors import NotAllowed, NotFound
from chatshop.storage.interface import Store


class Access:
    def __init__(self, store: Store, operators: frozenset[tuple[str, str]]) -> None:
        self._store = store
        self._operators = operators

    @property
    def operators(self) -> frozenset[tuple[str, str]]:
        return self._operators

    def actor(self, user: User) -> Actor:
        """The acting person, with the operator flag from the configuration."""
        return Actor(user_id=user.id,
                     is_operator=(user.channel, user.external_id) in self._operators)

    async def role(self, actor: Actor, shop_id: int) -> Role | None:
        for member in await self._store.shops.memberships(actor.user_id):
            if member.shop_id == shop_id:
                return member.role
        return None

    async def require_staff(self, actor: Actor, shop_id: int, *, owner: bool = False) -> Shop:
        """The shop, if it exists and ``actor`` is the operator, its owner, or (unless
        ``owner``) one of its staff."""
        shop = await self._store.shops.get(check_id(shop_id, "shop"))
        if shop is None:
            raise NotFound("shop", shop_id)
        if actor.is_operator:
            return shop
        role = await self.role(actor, shop_id)
        if role is None or (owner and role is not Role.OWNER):
            raise NotAllowed(f"user {actor.user_id} on shop {shop_id}",
                             needs="owner" if owner else "staff")
        return shop

    def require_operator(self, actor: Actor) -> None:
        if not actor.is_operator:
            raise NotAllowed(f"user {actor.user_id} is not an operator", needs="operator")
