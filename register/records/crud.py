"""Pages for one kind of register record: list, view, create, edit, retire.

Each record type is declared once (`RecordType`, in register/record_types/): its form, list columns,
filters and search; the views here are thin: validate the form, call the audited services, commit,
redirect.
"""

from functools import lru_cache
from typing import Any, Optional

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import DateField
from wtforms.validators import Optional as OptionalValue

from .. import countries, regions, services
from .. import merge as merging
from ..audit import Actor
from ..auth import editor_required
from ..extensions import db, get_or_404
from ..forms import RecordForm, show_domain_errors
from ..models import AuditEvent, AuditSource
# LIVE, CappedPagination, _searchable, html_text and register_state are imported from here too (home,
# history, the look-ups, tests), as before the record types had their own home.
from ..record_types.base import LIVE, Column, RecordType, html_text, link  # noqa: F401
from ..record_types.lists import CappedPagination, _searchable, list_query, register_state  # noqa: F401
from ..record_types.parties import PAGES_BY_KIND


def options_html(choices: list[tuple[str, str]], selected: Optional[str]) -> Markup:
    """A select's options (a country filter has 250 of them on every list page): built once per set of
    choices and selection, then reused."""
    return _options_html(tuple(choices), selected)


@lru_cache(maxsize=512)
def _options_html(choices: tuple[tuple[str, str], ...], selected: Optional[str]) -> Markup:
    return Markup("".join(
        f'<option value="{escape(value)}"{" selected" if value == selected else ""}>{escape(label)}</option>'
        for value, label in choices))


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


def register_pages(bp: Blueprint, pages: RecordType) -> None:
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


def _preview(pages: RecordType, form: RecordForm, record_id: Optional[int]) -> dict:
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


def merge_plan(pages: RecordType, form: RecordForm, record: Any) -> merging.Merge:
    """The form's change merged with what others saved since its version (merging.plan)."""
    return merging.plan(record, form.version.data, _values(pages, form), answers=request.form,
                        fields_of=lambda key: pages.merge_fields.get(key) or ((key,) if key in form._fields else ()),
                        label_of=lambda names: form_labels(form, names))


def form_labels(form: Any, names: tuple[str, ...]) -> str:
    return " and ".join(form[name].label.text if name in form._fields else name.replace("_", " ") for name in names)


def current_form(pages: RecordType, record: Any) -> RecordForm:
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


def _values(pages: RecordType, form: RecordForm) -> dict:
    if pages.to_values:
        return pages.to_values(form)
    return {name: field.data for name, field in form._fields.items() if name not in ("csrf_token", "version")}


def _prefill(args: dict, form: RecordForm) -> dict:
    """Fields a link may pre-fill on a new record (e.g. "add a certificate" from a third party)."""
    return {name: args.get(name) for name in form._fields if name not in ("csrf_token", "version") and args.get(name)}


class RetireForm(RecordForm):
    ends_on = DateField("End date", validators=[OptionalValue()], description="Leave empty for today.")


# --- showing a record -------------------------------------------------------------------------

PAGES_BY_MODEL: dict[type, RecordType] = {}
COUNTRY_FIELDS = frozenset({"country_code", "destination_country"})
_MISSING = object()


def record_url(record: Any) -> Optional[str]:
    """The page of any register record."""
    from ..models import Party

    if isinstance(record, Party):
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


def details(pages: RecordType, record: Any) -> list[tuple[str, list[tuple[str, Any]]]]:
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
                value = f"{regions.place_name(value, sess=db.session())} ({value})"
            rows.append((labels.get(name, name), shown(value)))
        if rows:
            groups.append((legend, rows))
    return groups
