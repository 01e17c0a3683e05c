"""The register's record types, declared once: each one's model, form, list columns, filters, search
and what may be done with it.

The pages (register/records/) and the API (register/api/) both read these declarations and neither
imports the other; nothing here imports the pages, the API or auth.
"""

from . import parties, places, transfers
from .base import RecordType

ALL_PAGES: list[RecordType] = [*parties.ALL_PAGES, *transfers.ALL_PAGES, *places.ALL_PAGES]
