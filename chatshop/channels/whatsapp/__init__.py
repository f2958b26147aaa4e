"""chatshop on WhatsApp, through Meta's Cloud API."""
