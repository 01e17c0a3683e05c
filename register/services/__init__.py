"""The one write path of the register: validate, write, audit, in one transaction.

Pages, the API, the CLI, the demo seed and imports all call `create`, `update` and `retire` inside
`write_unit(actor)`. Values are plain Python or JSON values keyed by field name; they are coerced by
the column's type, checked by the record's validator, and refused as a whole with field errors
(`DomainError`). A write based on a stale version raises `ConflictError` and changes nothing.

The package, by part (every name other modules use is importable from `register.services`):
- unit.py: the write unit (the transaction, version checks, what runs before it commits);
- writes.py: create, update, retire, delete; spec.py: how each record type is written (`Spec`);
- coerce.py: values turned into their column's type; checks.py: the checks record types share;
- one module per record family with its validation: parties, engagements (and the graph lock),
  instruments (and BCR approvals), routes (and their defaults), change_notices, vetting, statements
  (vendor statements), accounts;
- the bulk engine of an import (`Bulk`, `insert_rows`) is register/bulk.py, below this package and
  the stored verdicts alike.
Names with a leading underscore are the package's own.
"""

from ..audit import Actor
from ..bulk import (
    BULK_BATCH,
    BULK_IDS,
    BULK_KEPT,
    BULK_ROWS,
    ROUTE_REGIME_FIELDS,
    Bulk,
    EngagementFacts,
    bulk_unit,
    flush_pending,
    insert_rows,
    largest_id_used,
    name_key,
)
# Each record family's module registers its records' Specs in SPECS when imported.
from . import accounts, change_notices, engagements, instruments, parties, places, routes, statements, vetting
from .checks import EMAIL
from .coerce import (
    DAY_RANGE_MESSAGE,
    EARLIEST_DAY,
    INTEGER_RANGE,
    LATEST_DAY,
    _coerce,
    check_day,
    check_text,
    check_url,
    check_visible,
    coercer,
    escaped,
    parse_day,
    whole_number,
)
from .engagements import (
    ENGAGED_KINDS,
    ENGAGEMENT_GRAPH_LOCK,
    ENGAGER_KINDS,
    engagement_creates_cycle,
    lock_engagement_graph,
)
from .instruments import SCC_DECISIONS
from .parties import PARTY_FIELDS_BY_KIND
from .routes import ROUTE_DERIVABLE, ROUTE_DESTINATION_FIELDS, ROUTE_PARTY_KINDS, destination_default, route_defaults
from .spec import REFUSED, SPECS, SYSTEM_FIELDS, Derived, DomainError, Errors, Spec, recorded, spec_for
from .unit import BEFORE_COMMIT, ConflictError, before_commit, check_version, session, write_unit
from .writes import constraint_errors, create, delete, retire, update

__all__ = [
    "Actor", "BEFORE_COMMIT", "BULK_BATCH", "BULK_IDS", "BULK_KEPT", "BULK_ROWS", "Bulk", "ConflictError", "Derived",
    "DomainError", "EMAIL", "ENGAGED_KINDS", "ENGAGEMENT_GRAPH_LOCK", "ENGAGER_KINDS", "EngagementFacts", "Errors",
    "DAY_RANGE_MESSAGE", "EARLIEST_DAY", "INTEGER_RANGE", "LATEST_DAY", "PARTY_FIELDS_BY_KIND", "REFUSED", "ROUTE_DERIVABLE", "ROUTE_DESTINATION_FIELDS",
    "ROUTE_PARTY_KINDS", "ROUTE_REGIME_FIELDS", "SCC_DECISIONS", "SPECS", "SYSTEM_FIELDS", "Spec", "before_commit",
    "bulk_unit", "check_day", "check_text", "check_url", "check_visible", "check_version", "coercer", "constraint_errors",
    "create", "delete", "destination_default", "engagement_creates_cycle", "escaped", "flush_pending", "insert_rows",
    "largest_id_used", "lock_engagement_graph", "name_key", "parse_day", "recorded", "retire", "route_defaults", "session",
    "spec_for", "update",
    "whole_number", "write_unit",
]
