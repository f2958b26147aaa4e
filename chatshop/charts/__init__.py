"""Charts drawn for the chat (#12 §6): PNG pictures of figures the services computed.

matplotlib is imported inside the drawing functions only (Agg backend, nothing
interactive), so a bot that never draws does not carry it. Must not import web,
conversation or channels."""
