"""Downloads: the auditor workbook and the processor list people may ask for (and its public page)."""

import tempfile
from datetime import date
from typing import Optional

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, HiddenField, IntegerField, StringField, ValidationError
from wtforms.validators import Length, NumberRange
from wtforms.validators import Optional as OptionalValue

from .. import assessments, services
from ..auth import admin_required
from ..coverage import parse_day
from ..extensions import db, id_or_none
from ..jobs.views import built_by_worker, routes_in_register
from ..models import AuditEvent, Lifecycle, Party, PartyKind, Setting, TransferRoute
from ..record_types import transfers
from ..record_types.lists import kept_count, list_query
from . import processors
from .auditor import write_auditor_workbook
from .list_facts import LONGEST_NOTICE, NOTICE_DAYS, PUBLIC_LIST, SUBSCRIBE, UNSET, list_facts, subscribe_problem

bp = Blueprint("exports", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def route_ids_for(args) -> tuple[list[int], dict]:
    """The routes the routes list shows for these filters (all of its pages), and the filters used."""
    query, state = list_query(transfers.ROUTE_PAGES, args)
    ids = list(db.session.scalars(query.with_only_columns(TransferRoute.id, maintain_column_froms=True)))
    used = {key: value for key, value in state.items() if value and key not in ("sort", "dir")}
    return ids, used


@bp.route("/exports/register.xlsx")
@login_required
@built_by_worker("Auditor workbook", routes_in_register)
def register_workbook():
    """The auditor workbook for the routes list's filters, assessed today or on ?on=DATE."""
    on = parse_day(request.args.get("on"))
    if request.args.get("on") and on is None:
        abort(400, description="The date to assess on must be YYYY-MM-DD.")
    on = on or date.today()
    ids, used = route_ids_for(request.args)
    spool = tempfile.TemporaryFile()
    write_auditor_workbook(spool, on, ids, current_user.email, used)
    spool.seek(0)
    return send_file(spool, mimetype=XLSX, as_attachment=True, download_name=f"transfer-register-{on.isoformat()}.xlsx")


def _entity(value: Optional[str]) -> Optional[Party]:
    if not value:
        return None
    record_id = id_or_none(value)
    party = db.session.get(Party, record_id) if record_id is not None else None
    if party is None or party.kind != PartyKind.GROUP_ENTITY:
        abort(404, description="No such group entity.")
    return party


def _client(value: Optional[str], public: bool = False) -> Optional[Party]:
    """The client whose list is asked for (?client=ID): its chain, never on the public pages."""
    if not value:
        return None
    if public:
        abort(404)
    record_id = id_or_none(value)
    party = db.session.get(Party, record_id) if record_id is not None else None
    if party is None or party.kind != PartyKind.CLIENT:
        abort(404, description="No such client.")
    return party


def _purpose() -> Optional[str]:
    """The purpose filter of the processor list, as typed (bounded)."""
    return (request.args.get("purpose") or "").strip()[:200] or None


def _processors(entity: Optional[Party], purpose: Optional[str], client: Optional[Party] = None) -> processors.ProcessorList:
    assessments.ensure_fresh()  # the list states today's verdicts, never yesterday's
    # Built once per scope and day until the register changes (10 s at 100,000 routes): the page, its
    # downloads and the public page then read the same list.
    return kept_count(lambda: processors.processor_list([entity.id] if entity else None, [purpose] if purpose else None,
                                                        client_id=client.id if client else None),
                      ("processor list", entity.id if entity else None, purpose, client.id if client else None,
                       date.today()))


def _processor_download(kind: str, entity: Optional[Party], purpose: Optional[str], client: Optional[Party] = None):
    found = _processors(entity, purpose, client)
    stamp = date.today().isoformat()
    if kind == "csv":
        return processors.csv_text(found), 200, {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="our-processors-{stamp}.csv"'}
    spool = tempfile.TemporaryFile()
    processors.write_xlsx(spool, found, _title(entity, purpose, client), _facts(client).lines())
    spool.seek(0)
    return send_file(spool, mimetype=XLSX, as_attachment=True, download_name=f"our-processors-{stamp}.xlsx")


def _title(entity: Optional[Party], purpose: Optional[str], client: Optional[Party] = None) -> str:
    scope = f" of {entity.legal_name}" if entity else ""
    whose = f"Processors of {client.legal_name}'s personal data" if client else f"Our processors{scope}"
    return f"{whose}{f' for {purpose}' if purpose else ''}, as of {date.today().isoformat()}"


def _facts(client: Optional[Party] = None):
    """The list's header facts, pointing customers to the public feed when the list is published (a
    client's list: to its own change page, which only staff see)."""
    published = public_list_enabled() and client is None
    return list_facts(url_for("exports.public_changes_feed", _external=True) if published else None, client)


def _processor_page(public: bool):
    client = _client(request.args.get("client"), public)
    entity = None if client else _entity(request.args.get("entity"))
    purpose = _purpose()
    entities = db.session.execute(select(Party.id, Party.legal_name).where(
        Party.kind == PartyKind.GROUP_ENTITY, Party.status != Lifecycle.RETIRED).order_by(Party.name_key)).all()
    clients = [] if public else db.session.execute(select(Party.id, Party.legal_name).where(
        Party.kind == PartyKind.CLIENT, Party.status != Lifecycle.RETIRED).order_by(Party.name_key)).all()
    return render_template("exports/processors.html", processors=_processors(entity, purpose, client),
                           entity=entity, purpose=purpose, entities=entities, title=_title(entity, purpose, client), public=public,
                           facts=_facts(client), client=client, clients=clients,
                           subscribe_here=public and client is None)


@bp.route("/processors")
@login_required
def processor_list():
    return _processor_page(public=False)


@bp.route("/exports/processors.<any(xlsx, csv):kind>")
@login_required
@built_by_worker("Processor list", routes_in_register)
def processor_file(kind: str):
    client = _client(request.args.get("client"))
    return _processor_download(kind, None if client else _entity(request.args.get("entity")), _purpose(), client)


def public_list_enabled() -> bool:
    setting = db.session.scalar(select(Setting).where(Setting.key == PUBLIC_LIST))
    return setting is not None and setting.value == "on"


@bp.route("/public/processors")
def public_processor_list():
    """The processor list for anyone, when an admin has published it (off by default)."""
    if not public_list_enabled():
        abort(404)
    return _processor_page(public=True)


@bp.route("/public/processors.csv")
def public_processor_csv():
    if not public_list_enabled():
        abort(404)
    return _processor_download("csv", _entity(request.args.get("entity")), _purpose())


class SettingsForm(FlaskForm):
    publish_processor_list = BooleanField("Publish the processor list at /public/processors (anyone can read it)")
    notice_days = IntegerField("Notice of a new sub-processor (days)", validators=[
        OptionalValue(), NumberRange(1, LONGEST_NOTICE, f"A whole number of days from 1 to {LONGEST_NOTICE}.")])
    subscribe = StringField("How customers subscribe to changes (a web address or an email address)",
                            validators=[OptionalValue(), Length(max=200)], filters=[lambda value: (value or "").strip()])
    # What the page showed of each setting: a field left as shown never undoes another admin's change.
    shown = HiddenField()
    shown_notice_days = HiddenField()
    shown_subscribe = HiddenField()

    def validate_subscribe(self, field) -> None:
        problem = subscribe_problem(field.data) if field.data else None
        if problem:
            raise ValidationError(problem)


# form field -> (setting, its value as stored from the form's data, the field's data from the stored value, what it is)
SETTINGS = {
    "publish_processor_list": (PUBLIC_LIST, lambda data: "on" if data else "off", lambda value: value == "on",
                               "whether the processor list is public"),
    "notice_days": (NOTICE_DAYS, lambda data: "" if data is None else str(data),
                    lambda value: int(value) if value.isdigit() else None, "the notice period"),
    "subscribe": (SUBSCRIBE, lambda data: data or "", lambda value: value or None, "how to subscribe"),
}


def _stored(key: str) -> str:
    """A setting's value as the form compares it: "off" for an unpublished list, "" for a setting not set."""
    value = db.session.scalar(select(Setting.value).where(Setting.key == key))
    if key == PUBLIC_LIST:
        return value or UNSET
    return "" if value in (None, UNSET) else value


@bp.route("/admin/settings", methods=["GET", "POST"])
@admin_required
def settings():
    from ..users import web_actor

    form = SettingsForm()
    if form.validate_on_submit():
        kept, saved = [], []
        with services.write_unit(web_actor()):
            for name, (key, stored, _data, what) in SETTINGS.items():
                wanted = stored(form[name].data)
                shown = form["shown" if name == "publish_processor_list" else f"shown_{name}"].data
                setting = db.session.scalar(select(Setting).where(Setting.key == key))
                now = _stored(key)
                if now == wanted:
                    continue
                if wanted == shown:
                    # Left as shown, but another admin changed it meanwhile: theirs stands.
                    changed_by = db.session.scalar(select(AuditEvent.actor_label).where(
                        AuditEvent.record_type == Setting.__tablename__, AuditEvent.record_label == key)
                        .order_by(AuditEvent.id.desc()).limit(1))
                    kept.append((name, changed_by, what))
                    continue
                if setting is None:
                    services.create(Setting, {"key": key, "value": wanted or UNSET})
                else:
                    services.update(setting, {"value": wanted or UNSET}, expected_version=setting.version)
                saved.append(name)
        public = public_list_enabled()
        for name, changed_by, what in kept:
            if name == "publish_processor_list":
                flash(f"{changed_by} changed this setting meanwhile, and you left it as it was: the processor list stays "
                      + ("public." if public else "not public."), "warning")
            else:
                flash(f"{changed_by} changed {what} meanwhile, and you left it as it was: theirs stands.", "warning")
        if "publish_processor_list" in saved:
            flash("The processor list is " + ("now public." if public else "no longer public."), "success")
        elif saved or not kept:
            flash("Settings saved.", "success")
        return redirect(url_for("exports.settings"))
    if request.method == "GET":
        for name, (key, _stored_value, data, _what) in SETTINGS.items():
            form[name].data = data(_stored(key))
            form["shown" if name == "publish_processor_list" else f"shown_{name}"].data = _stored(key)
    return render_template("exports/settings.html", form=form), 200 if request.method == "GET" else 400


def _changes_page(public: bool):
    from .changes import list_changes

    client = _client(request.args.get("client"), public)
    which = {"client": client.id} if client else {}
    feed = url_for("exports.public_changes_feed" if public else "exports.changes_feed", **which)
    return render_template("exports/changes.html", changes=list_changes(client_id=client.id if client else None),
                           public=public, feed=feed, client=client)


def _changes_feed(public: bool):
    from .changes import atom_feed, list_changes

    client = _client(request.args.get("client"), public)
    which = {"client": client.id} if client else {}
    feed_url = url_for("exports.public_changes_feed" if public else "exports.changes_feed", _external=True, **which)
    page_url = url_for("exports.public_changes" if public else "exports.changes", _external=True, **which)
    return atom_feed(list_changes(client_id=client.id if client else None), feed_url, page_url), 200, {
        "Content-Type": "application/atom+xml; charset=utf-8"}


@bp.route("/processors/changes")
@login_required
def changes():
    """Who was added, removed or moved in the processor list (and intended additions)."""
    return _changes_page(public=False)


@bp.route("/processors/changes.atom")
@login_required
def changes_feed():
    return _changes_feed(public=False)


@bp.route("/public/processors/changes")
def public_changes():
    if not public_list_enabled():
        abort(404)
    return _changes_page(public=True)


@bp.route("/public/processors/changes.atom")
def public_changes_feed():
    if not public_list_enabled():
        abort(404)
    return _changes_feed(public=True)
