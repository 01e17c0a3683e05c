"""The audit log: every write to the register, filterable, and downloadable as a spreadsheet."""

import tempfile
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Optional

from flask import Blueprint, abort, render_template, request, send_file
from flask_login import current_user, login_required
from sqlalchemy import Select, select

from .extensions import MAX_ID, db, id_or_none
from .exports.workbook import XlsxBook
from .jobs.views import built_by_worker, events_in_trail, routes_in_register
from .models import AuditAction, AuditEvent, AuditSource, User
from .records.crud import CappedPagination, record_url

bp = Blueprint("history", __name__)

RECORD_TYPES = {
    "parties": "Parties", "engagements": "Engagements", "transfer_instruments": "Instruments", "bcr_approvals": "BCR approvals",
    "transfer_routes": "Transfer routes", "transfer_impact_assessments": "TIAs", "certificates": "Certificates",
    "dpf_certifications": "DPF certifications", "scope_facts": "Scope facts", "vendor_statements": "Vendor statements", "regions": "Regions", "change_notices": "Change notices",
    "users": "Users", "api_tokens": "API tokens",
    "settings": "Settings", "subject_requests": "Requests",
}
# The register's own records (users, tokens and settings have no record page and no past state to show).
REGISTER_TYPES = {key: label for key, label in RECORD_TYPES.items() if key not in ("users", "api_tokens", "settings", "subject_requests")}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 2000


def _day(name: str) -> Optional[date]:
    text = request.args.get(name)
    if not text:
        return None
    from .services import EARLIEST_DAY, LATEST_DAY, parse_day

    try:
        return parse_day(text)
    except ValueError:
        abort(400, description=f"{name.replace('_', ' ').capitalize()} must be a date (YYYY-MM-DD) "
                               f"from {EARLIEST_DAY} to {LATEST_DAY}.")


def log_query(args) -> tuple[Select, dict]:
    """The events the filters ask for, newest first; unknown filter values are refused (400)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    state: dict[str, Any] = {}
    if args.get("user"):
        if id_or_none(args["user"]) is None:
            abort(400, description="Unknown user.")
        query = query.where(AuditEvent.user_id == int(args["user"]))
        state["user"] = args["user"]
    for name, column, allowed in (("record_type", AuditEvent.record_type, RECORD_TYPES),
                                  ("action", AuditEvent.action, AuditAction._value2member_map_),
                                  ("source", AuditEvent.source, AuditSource._value2member_map_)):
        value = args.get(name)
        if value:
            if value not in allowed:
                abort(400, description=f"Unknown {name.replace('_', ' ')} {value!r}.")
            query = query.where(column == (allowed[value] if name != "record_type" else value))
            state[name] = value
    if args.get("record_id"):
        if id_or_none(args["record_id"]) is None:
            abort(400, description=f"The record id is a number from 1 to {MAX_ID}.")
        query = query.where(AuditEvent.record_id == int(args["record_id"]))
        state["record_id"] = args["record_id"]
    since, until = _day("since"), _day("until")
    if since:
        query = query.where(AuditEvent.occurred_at >= datetime.combine(since, time.min, timezone.utc))
        state["since"] = since.isoformat()
    if until:
        query = query.where(AuditEvent.occurred_at < datetime.combine(until + timedelta(days=1), time.min, timezone.utc))
        state["until"] = until.isoformat()
    if since and until and since > until:
        abort(400, description="The start of the period is after its end.")
    return query, state


def changes_text(changes: dict) -> str:
    return "\n".join(f"{field}: {'—' if old is None else old} → {'—' if new is None else new}" for field, (old, new) in changes.items())


@bp.route("/history")
@login_required
def log():
    query, state = log_query(request.args)
    pagination = CappedPagination(query, request.args.get("page", 1, type=int))
    users = db.session.execute(select(User.id, User.email).order_by(User.email)).all()
    return render_template("history/log.html", pagination=pagination, state=state, users=users, record_types=RECORD_TYPES,
                           actions=list(AuditAction), sources=list(AuditSource), links=record_links(pagination.items))


def record_links(events: list[AuditEvent]) -> dict[tuple[str, int], str]:
    """The pages of the records these events are about (one query per record type, not per event)."""
    from .models import AUDITED_MODELS

    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.record_type in REGISTER_TYPES:
            wanted.setdefault(event.record_type, set()).add(event.record_id)
    links = {}
    for model in AUDITED_MODELS:
        ids = wanted.get(model.__table__.name)
        if ids:
            for record in db.session.scalars(select(model).where(model.id.in_(ids))):
                links[(model.__table__.name, record.id)] = record_url(record)
    return links


@bp.route("/history.xlsx")
@login_required
@built_by_worker("Audit log", events_in_trail)
def log_workbook():
    """The log with the page's filters, as a spreadsheet (every matching event, streamed in chunks)."""
    query, state = log_query(request.args)
    book = XlsxBook()
    sheet = book.sheet("Audit log", [("Event", 10), ("When (UTC)", 18), ("Who", 28), ("Source", 12), ("Action", 10),
                                     ("Record type", 20), ("Record ID", 10), ("Record UID", 38), ("Record", 40),
                                     ("Version after", 10), ("Changes", 80)])
    last_id = None
    while True:
        page = query.limit(CHUNK) if last_id is None else query.where(AuditEvent.id < last_id).limit(CHUNK)
        events = db.session.scalars(page).all()
        if not events:
            break
        for event in events:
            sheet.append([event.id, event.occurred_at, event.actor_label, event.source.value, event.action.value, event.record_type,
                          event.record_id, event.record_uid, event.record_label, event.record_version, changes_text(event.changes)])
        last_id = events[-1].id
        db.session.expunge_all()
    sheet.close()
    filters = book.sheet("Filters", [("Filter", 20), ("Value", 40)])
    for key, value in sorted(state.items()):
        filters.append([key, value])
    filters.close()
    spool = tempfile.TemporaryFile()
    book.save(spool)
    spool.seek(0)
    return send_file(spool, mimetype=XLSX, as_attachment=True, download_name=f"audit-log-{date.today().isoformat()}.xlsx")


def _moment(name: str, default: Optional[datetime] = None) -> datetime:
    """A moment from the query string: a date means the end of that day (UTC); a date and time, that time."""
    text = request.args.get(name)
    if not text:
        if default is None:
            abort(400, description=f"Give {name} as YYYY-MM-DD or YYYY-MM-DDTHH:MM.")
        return default
    from .timeline import parse_moment

    from .services import EARLIEST_DAY, LATEST_DAY, check_day

    try:
        return check_day(parse_moment(text))
    except ValueError:
        abort(400, description=f"{name} must be YYYY-MM-DD or YYYY-MM-DDTHH:MM, from {EARLIEST_DAY} to {LATEST_DAY}.")



@bp.route("/history/as-of")
@login_required
def as_of():
    """The register as it stood at a moment, rebuilt from the trail."""
    from .timeline import register_at

    moment = _moment("at", datetime.now(timezone.utc))
    record_type = request.args.get("record_type") or "transfer_routes"
    if record_type not in REGISTER_TYPES:
        abort(400, description="Unknown record type.")
    state = register_at(moment)
    counts = {key: 0 for key in REGISTER_TYPES}
    for record_kind, _record_id in state:
        if record_kind in counts:
            counts[record_kind] += 1
    records = sorted((record for (kind, _id), record in state.items() if kind == record_type), key=lambda r: r.record_id)
    return render_template("history/as_of.html", moment=moment, counts=counts, records=records[:500], shown_type=record_type,
                           total=len(records), record_types=REGISTER_TYPES)


@bp.route("/history/compare")
@login_required
@built_by_worker("Changes between two moments", events_in_trail, when=lambda: request.args.get("format") == "xlsx")
def compare_dates():
    """What was added, removed and changed between two moments."""
    from .timeline import compare, register_at

    before, after = _moment("from"), _moment("to", datetime.now(timezone.utc))
    if before > after:
        abort(400, description="The first moment is after the second.")
    difference = compare(register_at(before), register_at(after))
    if request.args.get("format") == "xlsx":
        return _difference_workbook(difference, before, after)
    return render_template("history/compare.html", before=before, after=after, difference=difference, record_types=RECORD_TYPES)


@bp.route("/history/as-of/register.xlsx")
@login_required
@built_by_worker("Auditor workbook, as of a moment", routes_in_register)
def as_of_workbook():
    """The auditor workbook of the register as it stood at a moment, its routes assessed on that day."""
    from .exports.auditor import write_auditor_workbook
    from .timeline import as_of_session

    moment = _moment("at")
    spool = tempfile.TemporaryFile()
    with as_of_session(moment) as sess:
        write_auditor_workbook(spool, moment.date(), None, current_user.email, {"as of": _stamp(moment)}, sess=sess)
    spool.seek(0)
    return send_file(spool, mimetype=XLSX, as_attachment=True, download_name=f"transfer-register-as-of-{moment.date().isoformat()}.xlsx")


@bp.route("/history/as-of/processors.<any(xlsx, csv):kind>")
@login_required
@built_by_worker("Processor list, as of a moment", routes_in_register)
def as_of_processors(kind: str):
    """The processor list people may ask for, as it stood at a moment."""
    from .exports import processors
    from .timeline import as_of_session

    moment = _moment("at")
    with as_of_session(moment) as sess:
        found = processors.processor_list(sess=sess, on=moment.date())
    name = f"our-processors-as-of-{moment.date().isoformat()}"
    if kind == "csv":
        return processors.csv_text(found), 200, {"Content-Type": "text/csv; charset=utf-8",
                                                 "Content-Disposition": f'attachment; filename="{name}.csv"'}
    spool = tempfile.TemporaryFile()
    processors.write_xlsx(spool, found, f"Our processors, as of {_stamp(moment)}")
    spool.seek(0)
    return send_file(spool, mimetype=XLSX, as_attachment=True, download_name=f"{name}.xlsx")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _difference_workbook(difference, before: datetime, after: datetime):
    book = XlsxBook()
    sheet = book.sheet("Differences", [("Change", 10), ("Record type", 20), ("Record ID", 10), ("Record UID", 38),
                                       ("Record", 40), ("Field", 24), ("Before", 40), ("After", 40)])
    for record in difference.added:
        sheet.append(["added", record.record_type, record.record_id, record.uid, record.label, None, None, None])
    for record in difference.removed:
        sheet.append(["removed", record.record_type, record.record_id, record.uid, record.label, None, None, None])
    for record, fields in difference.changed:
        for name, (old, new) in fields.items():
            sheet.append(["changed", record.record_type, record.record_id, record.uid, record.label, name,
                          None if old is None else str(old), None if new is None else str(new)])
    sheet.close()
    spool = tempfile.TemporaryFile()
    book.save(spool)
    spool.seek(0)
    name = f"register-changes-{before.date().isoformat()}-to-{after.date().isoformat()}.xlsx"
    return send_file(spool, mimetype=XLSX, as_attachment=True, download_name=name)
