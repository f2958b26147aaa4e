"""chatshop: a chat-commerce bot for the small shops of a French territory.

Customers browse, search and reserve; they pay and collect in the shop. Shopkeepers
run their shop from the same chat. See ``shared/DESIGN.md`` for the architecture:
``domain`` <- ``storage`` <- ``services`` <- conversation <- channels.
"""

__version__ = "0.1.0"
