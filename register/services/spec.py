"""How a record type is written (`Spec`, one per record type in `SPECS`), and what a refused write says."""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from sqlalchemy.orm import Session

from ..audit import plain
from .codes import normalised
from .coerce import coercer


Errors = dict[str, list[str]]
SYSTEM_FIELDS = frozenset({"id", "uid", "version", "created_at", "updated_at", "name_key"})


class DomainError(Exception):
    """Input the register refuses, with messages per field ("" for the whole record)."""

    def __init__(self, errors: Errors):
        super().__init__("; ".join(f"{k or 'record'}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Derived:
    """A value the register filled in because the write left it out, and why (shown to the caller)."""

    value: Any
    reason: str


def column_fields(model: type) -> dict[str, Any]:
    """The columns a write may give (not the ones the register keeps itself)."""
    return {column.key: column for column in model.__table__.columns if column.key not in SYSTEM_FIELDS}


@dataclass
class Spec:
    """How one record type is written: its editable fields, collections and validation."""

    model: type
    # Fields that are not columns, each with a reader (for the trail) and a writer.
    collections: dict[str, tuple[Callable[[Any], list], Callable[[Session, Any, Any], None]]] = field(
        default_factory=dict
    )
    validate: Callable[[Session, Any, dict, Errors], None] = lambda sess, record, values, errors: None
    # Fields required on create.
    required: tuple[str, ...] = ()
    # Fields a caller may not set (set by the service itself).
    fixed: frozenset[str] = frozenset()
    # Values derived from the others when the caller leaves them out:
    # (session, record, merged values, the fields the write gives) -> {field: Derived}.
    complete: Optional[Callable[[Session, Any, dict, frozenset[str]], dict[str, "Derived"]]] = None
    # The fields `complete` may fill in, and how (the API's documentation says so).
    derivable: Mapping[str, str] = field(default_factory=dict)
    # Each collection's value as given to its writer -> as its reader will give it back (`recorded`).
    recorded: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    # Why a record may not be deleted although nothing refers to it by a key (None: it may).
    refuse_delete: Optional[Callable[[Session, Any], Optional[str]]] = None

    @functools.cached_property
    def columns(self) -> dict[str, Any]:
        return {k: v for k, v in column_fields(self.model).items() if k not in self.fixed}

    def snapshot(self, record: Any) -> dict:
        values = {key: getattr(record, key) for key in self.columns}
        for name, (reader, _writer) in self.collections.items():
            values[name] = reader(record)
        return values


SPECS: dict[type, Spec] = {}


class _Refused:
    """A value the write would refuse: it equals no recorded value (`recorded`)."""

    def __repr__(self) -> str:
        return "REFUSED"


REFUSED = _Refused()


def recorded(model: type, values: dict) -> dict:
    """The values the trail would record for these fields once written (what the record's snapshot
    gives: the coerced value, a collection as its reader gives it), without writing anything; a value
    the write would refuse is REFUSED. Merging a change made on an older version compares in these."""
    spec = spec_for(model)
    found = {}
    for key, value in values.items():
        try:
            if key in spec.columns:
                found[key] = coercer(spec.columns[key])(value)
                found[key] = plain(normalised(key, found[key]))
            elif key in spec.recorded:
                found[key] = plain(spec.recorded[key](value))
            else:
                found[key] = REFUSED
        except (ValueError, TypeError, KeyError, AttributeError):
            found[key] = REFUSED
    return found


def spec_for(model: type) -> Spec:
    for klass in model.__mro__:
        if klass in SPECS:
            return SPECS[klass]
    raise KeyError(f"no write spec for {model.__name__}")


def _add(errors: Errors, field_name: str, message: str) -> None:
    errors.setdefault(field_name, []).append(message)
