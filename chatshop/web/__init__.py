"""The public shop window: what people who are not in the chat yet see of the territory's
shops, with one tap from there into a reservation (the printed posters are
``chatshop.printing``'s).

Server-rendered pages over the services (Jinja2, autoescaped, the same gettext catalogue
and Babel formatting as the chat), readable with JavaScript off, mounted beside the
webhooks. Never personal data: no customer, no reservation, no staff member's name.
Must not import the channels or the conversation.
"""
