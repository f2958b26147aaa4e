"""chatshop: a chat-commerce bot for the small shops of a French territory.

Customers browse, search and reserve; they pay and collect in the shop. Shopkeepers
run their shop from the same chat. See ``shared/DESIGN.md`` for the architecture:
``domain`` <- ``storage`` <- ``services`` <- conversation <- channels.

Importing the package installs where the French catalogue comes from (nothing is read
until the first message is translated), so that ``chatshop.i18n``, and the domain that
translates through it, read no file themselves.
"""

from chatshop import i18n, resources

__version__ = "0.1.0"

i18n.use_catalogues(resources.read_catalogue)
