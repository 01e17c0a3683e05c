"""The writes themselves: create, update, retire and delete a record, each checked, written and audited.

Values are plain Python or JSON values keyed by field name; they are coerced by the column's type,
completed by what the record derives (`Spec.complete`), checked by the record's validator and
refused as a whole with field errors (`DomainError`). Each runs inside `write_unit`.
"""

from datetime import date
from typing import Any, Optional

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import bulk as engine  # (its BULK_BATCH read when used: a test writes in smaller batches)
from ..audit import created, diff, mark_audited, record_event
from ..bulk import BULK_ROWS, as_row, bulk_of, flush_pending, largest_id_used
from ..models import AuditAction, Lifecycle, utcnow
from .codes import normalised
from .coerce import _coerce
from .spec import DomainError, Errors, Spec, _add, spec_for
from .unit import check_version, session


def _prepare(spec: Spec, record: Any, values: dict, errors: Errors) -> dict:
    """Coerce the given values; unknown fields are errors."""
    columns = spec.columns
    prepared = {}
    for key, value in values.items():
        if key in columns:
            try:
                prepared[key] = _coerce(columns[key], value)
                prepared[key] = normalised(key, prepared[key])  # "UK" is GB, "Worldwide" WORLD on every path
            except ValueError as error:
                _add(errors, key, str(error))
        elif key in spec.collections:
            prepared[key] = value
        else:
            _add(errors, key, "Unknown field.")
    return prepared


def _merged(spec: Spec, record: Any, prepared: dict) -> dict:
    """The record's values as they would be after the write (for cross-field checks).

    Collections are checked only when the write gives them (in the writers' format).
    """
    current = {key: getattr(record, key) for key in spec.columns} if record is not None else {}
    return {**current, **prepared}


def _complete(spec: Spec, sess: Session, record: Any, prepared: dict, merged: dict, errors: Errors,
              derived: Optional[dict]) -> None:
    """Fill in the values a record derives from its others; `derived`, when given, receives each value
    filled in with its reason. A value that did not coerce is left out of `merged` (its error stands), so
    that what can still be derived is, and is not reported missing besides."""
    if spec.complete is None:
        return
    found = spec.complete(sess, record, merged, frozenset(prepared) | frozenset(errors))  # (a value refused was given)
    for key, item in found.items():
        prepared[key] = merged[key] = item.value
    if derived is not None:
        derived.update(found)


def _validate(spec: Spec, sess: Session, record: Any, merged: dict, errors: Errors) -> None:
    """Run the record's checks, keeping the first error of a field that failed coercion."""
    found: Errors = {}
    spec.validate(sess, record, {k: v for k, v in merged.items() if k not in errors}, found)
    for key, messages in found.items():
        if key not in errors:
            errors[key] = messages


def _write(sess: Session, spec: Spec, record: Any, prepared: dict) -> None:
    plain_values = as_row(sess, record)
    for key, value in prepared.items():
        if key in spec.collections:
            spec.collections[key][1](sess, record, value)
        elif plain_values:
            record.__dict__[key] = value
        else:
            setattr(record, key, value)


def _flush(sess: Session, record: Any) -> None:
    """Flush, turning a database constraint failure into a field error (a bulk unit flushes in batches)."""
    if bulk_of(sess) is not None:
        return
    try:
        with sess.begin_nested():
            sess.flush()
    except IntegrityError as error:
        raise DomainError(constraint_errors(error)) from None


def constraint_errors(error: IntegrityError) -> Errors:
    """Name the field a database constraint failure concerns, in words a user can act on."""
    message = str(error.orig).lower()
    if "natural_key" in message or "parties.kind, parties.name_key" in message:
        return {"legal_name": ["A record with this legal name already exists in this country."]}
    if "unique" in message or "duplicate" in message:
        return {"": ["This record duplicates one that already exists."]}
    if "foreign key" in message:
        return {"": ["A record this one refers to does not exist."]}
    if "dates_ordered" in message or "check" in message:
        return {"": ["The record breaks a rule of the register (for example dates out of order)."]}
    return {"": ["The database refused this change."]}


def create(model: type, values: dict, *, uid: Optional[str] = None, derived: Optional[dict] = None,
           as_recorded: Optional[dict] = None) -> Any:
    """Create a record from field values; one audit event. `uid` keeps a stable identifier (imports).
    Fields left out (absent, not None) may be derived from the others (`Spec.complete`): `derived`,
    when given, receives each with its reason.

    `as_recorded`: fixed fields as another register recorded them (an import moving a register in: the
    sub-processor a notice told of, who may since have been replaced); otherwise the record derives them.
    """
    sess = session()
    spec = spec_for(model)
    errors: Errors = {}
    prepared = _prepare(spec, None, values, errors)
    for name, value in (as_recorded or {}).items():
        if name not in spec.fixed:
            _add(errors, name, "Unknown field.")
        elif value is not None:
            prepared[name] = value
    merged = _merged(spec, None, prepared)
    _complete(spec, sess, None, prepared, merged, errors, derived)
    for name in spec.required:
        if merged.get(name) in (None, "", []) and name not in errors:
            _add(errors, name, "This field is required.")
    _validate(spec, sess, None, merged, errors)
    if errors:
        raise DomainError(errors)
    record = model()
    if uid is not None:
        record.uid = uid
    bulk = bulk_of(sess)
    if bulk is not None:
        record.id = bulk.next_id(model)
    elif sess.connection().dialect.name == "sqlite":
        record.id = largest_id_used(sess, model.__table__) + 1
    mark_audited(sess, record)
    if bulk is None or model not in BULK_ROWS:
        sess.add(record)
    _write(sess, spec, record, {k: v for k, v in prepared.items() if k not in spec.collections})
    _flush(sess, record)
    _write(sess, spec, record, {k: v for k, v in prepared.items() if k in spec.collections})
    if bulk is not None:
        bulk.noted(record)
        bulk.pending.append((record, spec))  # its creation event once written (flush_pending)
        if len(bulk.pending) + len(bulk.updates) >= engine.BULK_BATCH:
            flush_pending(sess)
        return record
    _flush(sess, record)
    # Fixed fields (a party's kind) are set once: the creation records them, so the trail alone can
    # rebuild the record (timeline.register_at).
    after = {**spec.snapshot(record), **{name: getattr(record, name) for name in spec.fixed}}
    record_event(sess, record, AuditAction.CREATE, created(after))
    _flush(sess, record)
    return record


def update(record: Any, values: dict, *, expected_version: Any, derived: Optional[dict] = None) -> Any:
    """Change a record's fields if it is still at `expected_version`; one audit event (none if nothing changed).
    `derived` as for `create` (a field left out may follow the fields it derives from)."""
    sess = session()
    check_version(record, expected_version)
    bulk = bulk_of(sess)
    if bulk is not None and any(type(new) in BULK_ROWS for new, _spec in bulk.pending):
        flush_pending(sess)  # the rows first: the ORM's UPDATE may point at one of them
    spec = spec_for(type(record))
    errors: Errors = {}
    prepared = _prepare(spec, record, values, errors)
    merged = _merged(spec, record, prepared)
    _complete(spec, sess, record, prepared, merged, errors, derived)
    for name in spec.required:
        if name in prepared and merged.get(name) in (None, "", []) and name not in errors:
            _add(errors, name, "This field is required.")
    _validate(spec, sess, record, merged, errors)
    if errors:
        raise DomainError(errors)
    before = spec.snapshot(record)
    mark_audited(sess, record)
    _write(sess, spec, record, prepared)
    changes = diff(before, spec.snapshot(record))
    if any(name in spec.collections for name in changes) and hasattr(record, "updated_at"):
        # A collection lives in rows of its own: without this the record's row, and so its version, would
        # stay as they were, and a form built before the change would still pass as current.
        record.updated_at = utcnow()
    if changes and bulk is not None:
        # its event once written (flush_pending), with the version the write gives it, in file order
        bulk.updates.append((len(bulk.pending), record, changes))
        bulk.noted(record)
    elif changes:
        _flush(sess, record)
        record_event(sess, record, AuditAction.UPDATE, changes)
        _flush(sess, record)
    return record


def retire(record: Any, *, expected_version: Any, ends_on: Optional[date] = None) -> Any:
    """Retire a record from a date (default today): it stays in the register and its history."""
    sess = session()
    check_version(record, expected_version)
    if getattr(record, "status", None) == Lifecycle.RETIRED:
        raise DomainError({"": [f"{record.label} is already retired."]})
    ends_on = ends_on or date.today()
    starts_on = getattr(record, "starts_on", None)
    if starts_on is not None and ends_on < starts_on:
        raise DomainError({"ends_on": ["The end date cannot be before the start date."]})
    spec = spec_for(type(record))
    before = spec.snapshot(record)
    mark_audited(sess, record)
    record.status = Lifecycle.RETIRED
    end_field = "ends_on" if hasattr(record, "ends_on") else "terminated_on"
    if hasattr(record, end_field):
        setattr(record, end_field, ends_on)
    _flush(sess, record)
    record_event(sess, record, AuditAction.RETIRE, diff(before, spec.snapshot(record)))
    _flush(sess, record)
    return record


def delete(record: Any, *, expected_version: Any) -> None:
    """Erase a record created by mistake: only if it never changed and nothing refers to it (audited).

    Anything with a history or with records pointing at it is retired instead, so that the register
    as of any past date can still be rebuilt and nothing that mattered disappears.
    """
    sess = session()
    check_version(record, expected_version)
    if record.version != 1:
        raise DomainError({"": [f"{record.label} has changed since it was created: retire it instead of deleting it."]})
    spec = spec_for(type(record))
    refused = spec.refuse_delete(sess, record) if spec.refuse_delete is not None else None
    if refused:
        raise DomainError({"": [refused]})
    label = record.label  # read now: after a refused flush the session can load nothing more
    before = spec.snapshot(record)
    record_event(sess, record, AuditAction.DELETE, diff(before, {key: None for key in before}))
    sess.delete(record)
    try:
        with sess.begin_nested():
            sess.flush()
    except IntegrityError:
        raise DomainError({"": [f"Other records refer to {label}: retire it instead of deleting it."]}) from None
