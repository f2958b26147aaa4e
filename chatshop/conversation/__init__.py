"""The channel-neutral chat: ``Conversation.handle(Inbound) -> list[Reply]``.

It owns the flows for customers, shopkeepers and the operator, the per-person state
(persisted through ``services.conversations``), the permission checks on every event and
the French wording. It must not import any channel or platform library.

Its seams: ``routes`` declares every button once (verb and typed arguments, the wire
format); ``handlers`` registers what answers a route, a command or a prompt; ``prompts``
are the typed records of what the bot asked someone to type; ``notices`` is the news of
a reservation for the people it concerns, which every flow sends and none owns.
"""
