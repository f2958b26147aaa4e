"""The shop's concepts as pydantic models, and pure functions on them. No I/O here."""
