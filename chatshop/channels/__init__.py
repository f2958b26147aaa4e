"""Thin adapters between a chat platform and the conversation: they translate platform
updates into ``Inbound`` events and ``Reply`` objects into platform calls, and contain
no business logic."""
