"""The channel-neutral chat: ``Conversation.handle(Inbound) -> list[Reply]``.

It owns the flows for customers, shopkeepers and the operator, the per-person state
(persisted), the permission checks on every event and the French wording. It must not
import any channel or platform library.
"""
