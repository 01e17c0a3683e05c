"""Downloads: the auditor workbook and the processor list people may ask for (and its public page)."""

import tempfile
from datetime import date
from typing import Optional

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, HiddenField

from .. import assessments, services
from ..auth import admin_required
from ..coverage import parse_day
from ..extensions import db, id_or_none
from ..models import AuditEvent, Lifecycle, Party, PartyKind, Setting, TransferRoute
from ..record_types import transfers
from ..record_types.lists import list_query
from . import processors
from .auditor import write_auditor_workbook

bp = Blueprint("exports", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PUBLIC_LIST = "public_processor_list"


def route_ids_for(args) -> tuple[list[int], dict]:
    """The routes the routes list shows for these filters (all of its pages), and the filters used."""
    query, state = list_query(transfers.ROUTE_PAGES, args)
    ids = list(db.session.scalars(query.with_only_columns(TransferRoute.id, maintain_column_froms=True)))
    used = {key: value for key, value in state.items() if value and key not in ("sort", "dir")}
    return ids, used


@bp.route("/exports/register.xlsx")
@login_required
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


def _purpose() -> Optional[str]:
    """The purpose filter of the processor list, as typed (bounded)."""
    return (request.args.get("purpose") or "").strip()[:200] or None


def _processors(entity: Optional[Party], purpose: Optional[str]) -> processors.ProcessorList:
    assessments.ensure_fresh()  # the list states today's verdicts, never yesterday's
    return processors.processor_list([entity.id] if entity else None, [purpose] if purpose else None)


def _processor_download(kind: str, entity: Optional[Party], purpose: Optional[str]):
    found = _processors(entity, purpose)
    stamp = date.today().isoformat()
    if kind == "csv":
        return processors.csv_text(found), 200, {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="our-processors-{stamp}.csv"'}
    spool = tempfile.TemporaryFile()
    processors.write_xlsx(spool, found, _title(entity, purpose))
    spool.seek(0)
    return send_file(spool, mimetype=XLSX, as_attachment=True, download_name=f"our-processors-{stamp}.xlsx")


def _title(entity: Optional[Party], purpose: Optional[str]) -> str:
    scope = f" of {entity.legal_name}" if entity else ""
    return f"Our processors{scope}{f' for {purpose}' if purpose else ''}, as of {date.today().isoformat()}"


def _processor_page(public: bool):
    entity = _entity(request.args.get("entity"))
    purpose = _purpose()
    entities = db.session.execute(select(Party.id, Party.legal_name).where(
        Party.kind == PartyKind.GROUP_ENTITY, Party.status != Lifecycle.RETIRED).order_by(Party.name_key)).all()
    return render_template("exports/processors.html", processors=_processors(entity, purpose),
                           entity=entity, purpose=purpose, entities=entities, title=_title(entity, purpose), public=public)


@bp.route("/processors")
@login_required
def processor_list():
    return _processor_page(public=False)


@bp.route("/exports/processors.<any(xlsx, csv):kind>")
@login_required
def processor_file(kind: str):
    return _processor_download(kind, _entity(request.args.get("entity")), _purpose())


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
    # What the page showed ("on" or "off"): a box left as shown never undoes another admin's change.
    shown = HiddenField()


@bp.route("/admin/settings", methods=["GET", "POST"])
@admin_required
def settings():
    from ..users import web_actor

    form = SettingsForm()
    if form.validate_on_submit():
        wanted = "on" if form.publish_processor_list.data else "off"
        with services.write_unit(web_actor()):
            setting = db.session.scalar(select(Setting).where(Setting.key == PUBLIC_LIST))
            now = setting.value if setting is not None else "off"
            if form.shown.data in ("on", "off") and wanted == form.shown.data and now != wanted:
                changed_by = db.session.scalar(select(AuditEvent.actor_label).where(
                    AuditEvent.record_type == Setting.__tablename__, AuditEvent.record_id == setting.id)
                    .order_by(AuditEvent.id.desc()).limit(1))
                wanted = None
            elif setting is None:
                services.create(Setting, {"key": PUBLIC_LIST, "value": wanted})
            else:
                services.update(setting, {"value": wanted}, expected_version=setting.version)
        if wanted is None:
            flash(f"{changed_by} changed this setting meanwhile, and you left it as it was: the processor list stays "
                  + ("public." if now == "on" else "not public."), "warning")
        else:
            flash("The processor list is " + ("now public." if wanted == "on" else "no longer public."), "success")
        return redirect(url_for("exports.settings"))
    form.publish_processor_list.data = public_list_enabled()
    form.shown.data = "on" if form.publish_processor_list.data else "off"
    return render_template("exports/settings.html", form=form)


def _changes_page(public: bool):
    from .changes import list_changes

    feed = url_for("exports.public_changes_feed" if public else "exports.changes_feed")
    return render_template("exports/changes.html", changes=list_changes(), public=public, feed=feed)


def _changes_feed(public: bool):
    from .changes import atom_feed, list_changes

    feed_url = url_for("exports.public_changes_feed" if public else "exports.changes_feed", _external=True)
    page_url = url_for("exports.public_changes" if public else "exports.changes", _external=True)
    return atom_feed(list_changes(), feed_url, page_url), 200, {"Content-Type": "application/atom+xml; charset=utf-8"}


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
