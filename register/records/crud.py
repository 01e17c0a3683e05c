"""Pages for one kind of register record: list, view, create, edit, retire.

Each record type describes itself once (`RecordPages`): its form, list columns, filters and
search; the views here are thin: validate the form, call the audited services, commit, redirect.
"""

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Optional

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import Select, Text, cast, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from wtforms import DateField
from wtforms.validators import Optional as OptionalValue

from .. import countries, services
from .. import merge as merging
from ..audit import Actor
from ..auth import editor_required
from ..extensions import db, get_or_404
from ..forms import RecordForm, show_domain_errors
from ..models import AssessmentRun, AuditEvent, AuditSource, Lifecycle

PER_PAGE = 50


@dataclass
class Filter:
    """A list filter: a query-string parameter with choices and how it narrows the query."""

    name: str
    label: str
    choices: Callable[[], list[tuple[str, str]]]
    apply: Callable[[Select, str], Select]


@dataclass
class Column:
    """A list column: its heading, how a row shows it, and the expression it sorts by."""

    label: str
    cell: Callable[[Any], Any]
    sort: Optional[Any] = None
    key: str = ""
    # The page the cell links to, as a path under the app's root (RecordPages.path): a list shows
    # hundreds of links, so they are built from strings, not with url_for.
    href: Optional[Callable[[Any], str]] = None


@dataclass
class RecordPages:
    """Everything the generic views need to know about one record type."""

    name: str  # URL segment and endpoint prefix, e.g. "third_parties"
    title: str  # plural heading, e.g. "Third parties"
    singular: str
    model: type
    form: type[RecordForm]
    # The form's fields in groups: [(legend, [field names])].
    fieldsets: list[tuple[str, list[str]]]
    columns: list[Column]
    search: list[InstrumentedAttribute]
    filters: list[Filter] = field(default_factory=list)
    base_query: Callable[[], Select] | None = None
    # Joins that searching, or sorting by one of `join_sorts`, needs (the plain list does without).
    joins: Callable[[Select], Select] | None = None
    join_sorts: frozenset[str] = frozenset()
    list_options: list = field(default_factory=list)
    default_sort: str = ""
    view_template: str = "records/view.html"
    form_template: str = "records/form.html"
    # Form data -> service values, and record -> form data (defaults: same field names).
    to_values: Callable[[RecordForm], dict] | None = None
    to_form: Callable[[Any], dict] | None = None
    prepare_form: Callable[[RecordForm, Any], None] | None = None
    view_context: Callable[[Any], dict] | None = None
    # Extra values a new record gets from the page (e.g. a party's kind through its model).
    create_model: Callable[[RecordForm], type] | None = None
    can_retire: bool = True
    # Whether the form offers "Preview coverage" (the change checked and assessed, then not saved).
    can_preview: bool = False
    # For long lists: the page's rows as plain tuples for these ids, instead of ORM objects.
    fetch_rows: Callable[[list[int]], dict[int, Any]] | None = None
    # The form fields showing a value the services write under another name (merge.plan decides for
    # each form field as one): {service field: (form fields)}; default, the field of the same name.
    merge_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.prefix = f"/{self.name.replace('_', '-')}"

    def query(self) -> Select:
        return self.base_query() if self.base_query else select(self.model)

    def path(self, record_id: int) -> str:
        """The record's page under the app's root (what Column.href returns)."""
        return f"{self.prefix}/{record_id}"

    def view_url(self, record_id: int) -> str:
        """The record's page, without a url_for per row (lists show hundreds of links)."""
        return f"{request.script_root}{self.prefix}/{record_id}"

    def endpoint(self, action: str) -> str:
        return f"records.{self.name}_{action}"

    def url(self, action: str, **kwargs: Any) -> str:
        return url_for(self.endpoint(action), **kwargs)


def html_text(value: Any) -> str:
    """A value as the template shows it ({{ value }}: markupsafe's escaping, HTML kept as it is), as a
    plain string. Lists build hundreds of cells: one Markup object per piece costs more than the escaping."""
    if type(value) is not str:
        if type(value) is int:
            return str(value)
        if hasattr(value, "__html__"):
            return value.__html__()
        value = str(value)
    # markupsafe's own replacements, in its order (a test compares the two).
    return value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace("'", "&#39;").replace('"', "&#34;")


def link(text: Any, href: str) -> Markup:
    # Hot path of every list (hundreds of cells): plain escaping, not Markup.format.
    return Markup(f'<a href="{html_text(href)}">{html_text(text)}</a>')


def options_html(choices: list[tuple[str, str]], selected: Optional[str]) -> Markup:
    """A select's options (a country filter has 250 of them on every list page): built once per set of
    choices and selection, then reused."""
    return _options_html(tuple(choices), selected)


@lru_cache(maxsize=512)
def _options_html(choices: tuple[tuple[str, str], ...], selected: Optional[str]) -> Markup:
    return Markup("".join(
        f'<option value="{escape(value)}"{" selected" if value == selected else ""}>{escape(label)}</option>'
        for value, label in choices))


def badge(value: Any, css: str = "") -> Markup:
    label = getattr(value, "label", value)
    css = css or getattr(value, "value", str(value))
    return Markup(f'<span class="badge badge-{html_text(css)}">{html_text(label)}</span>')


def table_rows(columns: list[Column], records: list) -> list[Markup]:
    """Each record's cells as one table row's HTML (its <td>s), escaped as the template would escape
    them: one string per row rather than a template loop and a Markup object per cell."""
    root = request.script_root
    shown = [(column.cell, column.href) for column in columns]
    rows = []
    for record in records:
        cells = []
        for cell, href in shown:
            text = html_text(cell(record))
            if href is not None:
                text = f'<a href="{html_text(root + href(record))}">{text}</a>'
            cells.append(text)
        rows.append(Markup(f"<td>{'</td><td>'.join(cells)}</td>"))
    return rows


def web_actor() -> Actor:
    return Actor(AuditSource.WEB, user=current_user._get_current_object())


# --- the list ---------------------------------------------------------------------------------


def list_query(pages: RecordPages, args: dict) -> tuple[Select, dict]:
    """The list's query from the query string: search, filters, sort (unknown values ignored)."""
    query = pages.query()
    state: dict[str, Any] = {"q": _searchable(args.get("q") or "")}
    sortable = {column.key: column for column in pages.columns if column.sort is not None}
    sort_key = args.get("sort") if args.get("sort") in sortable else pages.default_sort
    if pages.joins and (state["q"] or sort_key in pages.join_sorts):
        query = pages.joins(query)
    if state["q"]:
        pattern = f"%{state['q'].lower()}%"
        query = query.where(or_(*(func.lower(column).like(pattern) for column in pages.search)))
    for list_filter in pages.filters:
        value = (args.get(list_filter.name) or "").strip()
        if value and value in {choice for choice, _label in list_filter.choices()}:
            query = list_filter.apply(query, value)
            state[list_filter.name] = value
    descending = args.get("dir") == "desc"
    state["sort"], state["dir"] = sort_key, "desc" if descending else "asc"
    if sort_key:
        expression = sortable[sort_key].sort
        query = query.order_by(expression.desc() if descending else expression.asc(), pages.model.id)
    else:
        query = query.order_by(pages.model.id.desc())
    return query, state


COUNT_CAP = 1_000


class CappedPagination:
    """One page of a list, with a count that looks only COUNT_CAP rows past the page ("1,000+").

    An exact count of a filtered 100,000-route register costs more than the page itself and grows with
    the register; nobody pages through thousands of routes, they filter. Deeper pages still work: the
    count then looks COUNT_CAP rows past them. With a `count_key` (what the query was built from), the
    count is kept until the register changes (`kept_count`).
    """

    def __init__(self, query: Select, page: int, per_page: int = PER_PAGE,
                 fetch_rows: Callable[[list[int]], dict[int, Any]] | None = None, count_key: Optional[tuple] = None):
        self.per_page = per_page
        self.page = max(page, 1)
        offset = (self.page - 1) * per_page
        ids = query.with_only_columns(query.column_descriptions[0]["entity"].id, maintain_column_froms=True)
        horizon = offset + COUNT_CAP
        counted = kept_count(
            lambda: db.session.scalar(select(func.count()).select_from(ids.order_by(None).limit(horizon + 1).subquery())),
            None if count_key is None else (*count_key, horizon))
        self.is_capped = counted > horizon
        self.total = min(counted, horizon)
        self.pages = max(1, -(-self.total // per_page))
        if self.page > self.pages:  # past the end: show the last page
            self.page = self.pages
            offset = (self.page - 1) * per_page
        if fetch_rows is None:
            self.items = db.session.scalars(query.limit(per_page).offset(offset)).unique().all()
        else:
            page_ids = list(db.session.scalars(ids.limit(per_page).offset(offset)))
            rows = fetch_rows(page_ids)
            self.items = [rows[record_id] for record_id in page_ids]
        self.has_prev, self.has_next = self.page > 1, self.page < self.pages or self.is_capped
        self.prev_num, self.next_num = self.page - 1, self.page + 1


# --- counts kept until the register changes -----------------------------------------------------
#
# A list's capped count is its dearest query (on the large register, SQLite visits up to 1,000 rows).
# It changes only when the register does: every write to a register record adds an audit event in the
# same transaction (audit.py refuses unaudited writes), and the stored verdicts that the coverage,
# mechanism and ISO 27001 filters read change either in such a write or in a whole-register
# reassessment, which adds an assessment run. So the newest audit event and assessment run, read in
# one indexed query, say whether a kept count is still right. SQLite runs one writer at a time, so its
# ids become visible in order. On PostgreSQL a transaction can commit an event with a lower id after
# another committed a higher one: the snapshot (which transactions have finished) is part of the state
# there, so any commit since the count was taken discards it.

COUNTS_KEPT = 512
_STATE = select(select(func.max(AuditEvent.id)).scalar_subquery(), select(func.max(AssessmentRun.id)).scalar_subquery())
_STATE_POSTGRESQL = _STATE.add_columns(cast(func.pg_current_snapshot(), Text))
_kept_counts: "weakref.WeakKeyDictionary[Any, OrderedDict]" = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()


def register_state(sess: Session) -> Optional[tuple]:
    """What the register's content is, cheaply: it differs after any committed write. None where that
    cannot be told (a write in progress in this session, another database)."""
    if sess.new or sess.dirty or sess.deleted or sess.info.get("actor") is not None:
        return None  # inside a write unit: what it wrote is not committed and may be rolled back
    dialect = sess.get_bind().dialect.name
    if dialect == "sqlite":
        return tuple(sess.execute(_STATE).one())
    if dialect == "postgresql":
        return tuple(sess.execute(_STATE_POSTGRESQL).one())
    return None


def kept_count(count: Callable[[], int], key: Optional[tuple]) -> int:
    """`count()`, or the figure it gave for the same `key` while the register was as it is now."""
    if key is None:
        return count()
    sess = db.session()
    state = register_state(sess)
    if state is None:
        return count()
    engine = sess.get_bind()
    with _kept_lock:
        kept = _kept_counts.setdefault(engine, OrderedDict())
        found = kept.get(key)
        if found is not None and found[0] == state:
            kept.move_to_end(key)
            return found[1]
    counted = count()
    with _kept_lock:
        kept[key] = (state, counted)
        kept.move_to_end(key)
        while len(kept) > COUNTS_KEPT:
            kept.popitem(last=False)
    return counted


def _searchable(text: str) -> str:
    """Search text as typed, without what no database column can hold (NUL, broken Unicode)."""
    text = text.replace("\x00", "").strip()[:200]
    return text.encode("utf-8", "ignore").decode("utf-8")


def register_pages(bp: Blueprint, pages: RecordPages) -> None:
    """Add the record type's list, view, new, edit and retire views to the blueprint."""

    @login_required
    def index():
        query, state = list_query(pages, request.args)
        page_number = request.args.get("page", 1, type=int)
        # The count depends only on what list_query read from the request (its state).
        pagination = CappedPagination(query.options(*pages.list_options), page_number, fetch_rows=pages.fetch_rows,
                                      count_key=(pages.name, *sorted(state.items())))
        rows = table_rows(pages.columns, pagination.items)
        filters = [(f, options_html(f.choices(), state.get(f.name))) for f in pages.filters]
        return render_template("records/list.html", pages=pages, pagination=pagination, state=state, rows=rows, filters=filters)

    @login_required
    def view(record_id: int):
        record = get_or_404(pages.model, record_id)
        context = pages.view_context(record) if pages.view_context else {}
        history = db.session.scalars(
            select(AuditEvent).where(AuditEvent.record_type == pages.model.__table__.name, AuditEvent.record_id == record.id)
            .order_by(AuditEvent.id.desc()).limit(20)
        ).all()
        return render_template(pages.view_template, pages=pages, record=record, history=history, **context)

    @editor_required
    def new():
        form = pages.form()
        if pages.prepare_form:
            pages.prepare_form(form, None)
        preview = None
        if form.validate_on_submit():
            try:
                if pages.can_preview and "preview" in request.form:
                    preview = _preview(pages, form, None)
                else:
                    with services.write_unit(web_actor()):
                        model = pages.create_model(form) if pages.create_model else pages.model
                        record = services.create(model, _values(pages, form))
            except services.DomainError as error:
                show_domain_errors(form, error)
            else:
                if preview is None:
                    flash(f"Created {record.label}.", "success")
                    return redirect(pages.url("view", record_id=record.id))
        elif request.method == "GET":
            form.process(data=_prefill(request.args, form))
            if pages.prepare_form:
                pages.prepare_form(form, None)
        status = 400 if form.errors or form.form_errors else 200
        return render_template(pages.form_template, pages=pages, form=form, record=None, preview=preview), status

    @editor_required
    def edit(record_id: int):
        record = get_or_404(pages.model, record_id)
        form = pages.form(data=pages.to_form(record) if pages.to_form else None, obj=None if pages.to_form else record)
        if pages.prepare_form:
            pages.prepare_form(form, record)
        unmerged: Optional[merging.Merge] = None
        status = 200
        if request.method == "POST":
            # The version the user's form was built on: never the record's current one.
            form.version.data = request.form.get("version")
        preview = None
        if form.validate_on_submit():
            try:
                if pages.can_preview and "preview" in request.form:
                    preview = _preview(pages, form, record_id)
                    if preview["merge"].is_stale:  # the form shows what others saved, as the preview does
                        merging_form(form, current_form(pages, get_or_404(pages.model, record_id)), preview["merge"])
                else:
                    with services.write_unit(web_actor()):
                        record = get_or_404(pages.model, record_id)
                        merge = merge_plan(pages, form, record)
                        services.update(record, merge.values, expected_version=merge.version)
            except services.DomainError as error:
                show_domain_errors(form, error)
            except merging.Unmerged as error:
                record = get_or_404(pages.model, record_id)
                unmerged = error.merge
                merging_form(form, current_form(pages, record), unmerged)
                status = 409
            except services.ConflictError:
                # Saved by someone else between reading and writing: the next save merges with it.
                form.form_errors.append("Someone else saved this record at the same moment: nothing was saved. Save again.")
                status = 409
            else:
                if preview is None:
                    flash(saved_message(record.label, merge), "success")
                    return redirect(pages.url("view", record_id=record.id))
        elif request.method == "GET":
            form.version.data = record.version
        if status == 200 and (form.errors or form.form_errors):
            status = 400
        return render_template(pages.form_template, pages=pages, form=form, record=record, merge=unmerged,
                               preview=preview), status

    @editor_required
    def retire(record_id: int):
        record = get_or_404(pages.model, record_id)
        if not pages.can_retire:
            abort(404)
        form = RetireForm()
        if form.validate_on_submit():
            try:
                with services.write_unit(web_actor()):
                    record = get_or_404(pages.model, record_id)
                    services.retire(record, expected_version=form.version.data, ends_on=form.ends_on.data)
            except services.DomainError as error:
                show_domain_errors(form, error)
            except services.ConflictError:
                flash(f"{record.label} changed meanwhile: review it and retire again.", "warning")
                return redirect(pages.url("view", record_id=record_id)), 303
            else:
                flash(f"Retired {record.label}.", "success")
                return redirect(pages.url("view", record_id=record.id))
        elif request.method == "GET":
            form.version.data = record.version
        status = 400 if form.errors or form.form_errors else 200
        return render_template("records/retire.html", pages=pages, form=form, record=record), status

    PAGES_BY_MODEL.setdefault(pages.model, pages)
    @editor_required
    def delete(record_id: int):
        record = get_or_404(pages.model, record_id)
        form = RecordForm()
        if form.validate_on_submit():
            label = record.label
            try:
                with services.write_unit(web_actor()):
                    record = get_or_404(pages.model, record_id)
                    services.delete(record, expected_version=form.version.data)
            except services.DomainError as error:
                show_domain_errors(form, error)
            except services.ConflictError:
                flash(f"{label} changed meanwhile: review it first.", "warning")
                return redirect(pages.url("view", record_id=record_id)), 303
            else:
                flash(f"Deleted {label}.", "success")
                return redirect(pages.url("index"))
        elif request.method == "GET":
            form.version.data = record.version
        status = 400 if form.errors or form.form_errors else 200
        return render_template("records/delete.html", pages=pages, form=form, record=record), status

    prefix = f"/{pages.name.replace('_', '-')}"
    bp.add_url_rule(f"{prefix}/", f"{pages.name}_index", index)
    bp.add_url_rule(f"{prefix}/<int:record_id>", f"{pages.name}_view", view)
    bp.add_url_rule(f"{prefix}/new", f"{pages.name}_new", new, methods=["GET", "POST"])
    bp.add_url_rule(f"{prefix}/<int:record_id>/edit", f"{pages.name}_edit", edit, methods=["GET", "POST"])
    bp.add_url_rule(f"{prefix}/<int:record_id>/retire", f"{pages.name}_retire", retire, methods=["GET", "POST"])
    bp.add_url_rule(f"{prefix}/<int:record_id>/delete", f"{pages.name}_delete", delete, methods=["GET", "POST"])


def _preview(pages: RecordPages, form: RecordForm, record_id: Optional[int]) -> dict:
    """The verdict the record would get today: written (merged, as a save would), assessed, then rolled back."""
    from datetime import date

    from .. import assessments

    merge = None
    with services.write_unit(web_actor(), dry_run=True) as sess:
        if record_id is None:
            record = services.create(pages.model, _values(pages, form))
        else:
            record = get_or_404(pages.model, record_id)
            merge = merge_plan(pages, form, record)
            services.update(record, merge.values, expected_version=merge.version)
        today = date.today()
        verdict = assessments.plain(assessments.assess(sess, today, [record.id])[record.id])
    return {"on": today, "verdict": verdict, "merge": merge, "kept": merge.kept_note() if merge is not None else ""}


# --- merging a form built on an older version ---------------------------------------------------


def merge_plan(pages: RecordPages, form: RecordForm, record: Any) -> merging.Merge:
    """The form's change merged with what others saved since its version (merging.plan)."""
    return merging.plan(record, form.version.data, _values(pages, form), answers=request.form,
                        fields_of=lambda key: pages.merge_fields.get(key) or ((key,) if key in form._fields else ()),
                        label_of=lambda names: form_labels(form, names))


def form_labels(form: Any, names: tuple[str, ...]) -> str:
    return " and ".join(form[name].label.text if name in form._fields else name.replace("_", " ") for name in names)


def current_form(pages: RecordPages, record: Any) -> RecordForm:
    """The form as the record now is (never the request's input)."""
    form = pages.form(formdata=None, data=pages.to_form(record) if pages.to_form else None, obj=None if pages.to_form else record)
    if pages.prepare_form:
        pages.prepare_form(form, record)
    return form


def merging_form(form: Any, current: Any, merge: merging.Merge) -> None:
    """The form a conflict is shown in: the fields whose current value stands show it (the record as
    it is now), the others keep the person's input; its version stays the one it was built on."""
    for name in merge.current_fields:
        if name in form._fields and name in current._fields:
            form._fields[name] = current._fields[name]
            setattr(form, name, current._fields[name])


def saved_message(label: str, merge: Optional[merging.Merge]) -> str:
    kept = merge.kept_note() if merge is not None else ""
    return f"Saved {label}." + (f" Meanwhile {kept}: kept as they saved it." if kept else "")


def _values(pages: RecordPages, form: RecordForm) -> dict:
    if pages.to_values:
        return pages.to_values(form)
    return {name: field.data for name, field in form._fields.items() if name not in ("csrf_token", "version")}


def _prefill(args: dict, form: RecordForm) -> dict:
    """Fields a link may pre-fill on a new record (e.g. "add a certificate" from a third party)."""
    return {name: args.get(name) for name in form._fields if name not in ("csrf_token", "version") and args.get(name)}


class RetireForm(RecordForm):
    ends_on = DateField("End date", validators=[OptionalValue()], description="Leave empty for today.")


# The status filter's value for records not retired (proposed or active): what the home page counts.
LIVE = "live"


def status_filter(model: type) -> Filter:
    """Filter a list by lifecycle status, or to the live records (not retired)."""
    return Filter("status", "Status", lambda: [(LIVE, "Live (proposed or active)")] + [(s.value, s.label) for s in Lifecycle],
                  lambda query, value: query.where(model.status != Lifecycle.RETIRED) if value == LIVE
                  else query.where(model.status == Lifecycle(value)))


# --- showing a record -------------------------------------------------------------------------

PAGES_BY_MODEL: dict[type, RecordPages] = {}
COUNTRY_FIELDS = frozenset({"country_code", "destination_country"})
_MISSING = object()


def record_url(record: Any) -> Optional[str]:
    """The page of any register record."""
    from ..models import Party

    if isinstance(record, Party):
        from .parties import PAGES_BY_KIND

        return PAGES_BY_KIND[record.kind].url("view", record_id=record.id)
    for klass in type(record).__mro__:
        if klass in PAGES_BY_MODEL:
            return PAGES_BY_MODEL[klass].url("view", record_id=record.id)
    return None


def shown(value: Any) -> Any:
    """A field value as a page shows it."""
    from datetime import date

    if value is None or value == "":
        return Markup('<span class="muted">\u2014</span>')
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "label") and hasattr(value, "value"):
        return value.label
    if hasattr(value, "label") and hasattr(value, "id"):
        url = record_url(value)
        return link(value.label, url) if url else value.label
    return value


def _label(form_class: type, name: str) -> str:
    unbound = getattr(form_class, name, None)  # a WTForms UnboundField: its first argument is the label
    args = getattr(unbound, "args", ())
    return args[0] if args else name.replace("_", " ").capitalize()


def details(pages: RecordPages, record: Any) -> list[tuple[str, list[tuple[str, Any]]]]:
    """The record's fields grouped as on its form, with their labels, ready to show."""
    labels = {name: _label(pages.form, name) for _legend, names in pages.fieldsets for name in names}
    groups = []
    for legend, names in pages.fieldsets:
        rows = []
        for name in names:
            attribute = name[:-3] if name.endswith("_id") and hasattr(record, name[:-3]) else name
            value = getattr(record, attribute, _MISSING)
            if value is _MISSING or isinstance(value, list):
                continue
            if name in COUNTRY_FIELDS and value:
                value = f"{countries.country_name(value)} ({value})"
            rows.append((labels.get(name, name), shown(value)))
        if rows:
            groups.append((legend, rows))
    return groups
