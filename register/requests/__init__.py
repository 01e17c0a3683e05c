"""Data subjects' requests: the queue, the request log, each request's steps and its answer.

Editors and admins act; auditors read the log and download it (never the purged personal data). The
views validate, call the services inside one audited write unit, and redirect.
"""

import tempfile
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import assessments, services
from ..auth import editor_required
from ..extensions import db, get_or_404
from ..forms import show_domain_errors
from ..models import AuditEvent, Party, SubjectRequest
from .. import merge as merging
from ..records.crud import form_labels, merging_form, saved_message, web_actor
from . import answers
from . import operations as request_services
from .forms import AnswerForm, RequestForm, StepForm

bp = Blueprint("requests", __name__, url_prefix="/requests")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CLOSED_SHOWN = 100

# step -> (heading, button, the date's field, the text's field or None, whether the text is required)
STEPS = {
    "acknowledge": ("Acknowledge receipt", "Record the acknowledgement", "acknowledged_on", None),
    "verify": ("Identity verified", "Record the verification", "identity_verified_on", None),
    "ask_controller": ("Ask the controller for instructions", "Record that we asked", "controller_asked_on", None),
    "controller_answer": ("The controller's instructions", "Record its answer", "controller_answered_on", "controller_instructions"),
    "extend": ("Extend by two months", "Record the extension", "extension_told_on", "extension_reason"),
    "answer": ("Answer", "Send this answer", "answered_on", None),
    "refuse": ("Refuse", "Record the refusal", "refused_on", "refusal_reason"),
}
STEP_LABELS = {
    "extend": ("Person told of the extension on", "Reasons for the delay (told to the person)"),
    "controller_answer": ("Answered on", "What the controller said"),
    "refuse": ("Refused on", "Reason for the refusal (told to the person)"),
    "answer": ("Sent on", ""),
}


def available_steps(record: SubjectRequest, today: date) -> list[str]:
    if record.status in request_services.CLOSED:
        return []
    steps = []
    if record.acknowledged_on is None:
        steps.append("acknowledge")
    if record.identity_verified_on is None:
        steps.append("verify")
    if record.is_for_controller and record.controller_asked_on is None:
        steps.append("ask_controller")
    if record.controller_asked_on is not None and record.controller_answered_on is None:
        steps.append("controller_answer")
    clocks = request_services.clocks(record, today)
    if record.extension_told_on is None and today <= clocks.answer_by.due_on:
        steps.append("extend")
    steps += ["answer", "refuse"]
    return steps


def step_form(step: str, record: SubjectRequest, today: date) -> StepForm:
    form = (AnswerForm if step == "answer" else StepForm)(prefix=step, data={"on": today, "version": record.version})
    date_label, text_label = STEP_LABELS.get(step, ("On", ""))
    form.on.label.text = date_label
    form.text.label.text = text_label
    return form


# --- the queue --------------------------------------------------------------------------------


@bp.route("/")
@login_required
def queue():
    today = date.today()
    request_services.purge_due(today)
    open_requests = db.session.scalars(select(SubjectRequest).where(SubjectRequest.status.not_in(request_services.CLOSED))
                                       .options(selectinload(SubjectRequest.personal))).all()
    rows = sorted(((record, request_services.clocks(record, today)) for record in open_requests),
                  key=lambda pair: (pair[1].next_deadline.due_on, pair[0].id))
    closed = db.session.scalars(select(SubjectRequest).where(SubjectRequest.status.in_(request_services.CLOSED))
                                .order_by(SubjectRequest.id.desc()).limit(CLOSED_SHOWN)).all()
    return render_template("requests/queue.html", rows=rows, closed=closed, today=today,
                           closed_clocks={record.id: request_services.clocks(record, today) for record in closed})


def due_counts(today: date) -> dict[str, int]:
    """The dashboard's figures: open requests, overdue, due within a week."""
    counts = {"open": 0, "overdue": 0, "due_soon": 0}
    for record in db.session.scalars(select(SubjectRequest).where(SubjectRequest.status.not_in(request_services.CLOSED))):
        clocks = request_services.clocks(record, today)
        counts["open"] += 1
        counts["overdue"] += clocks.is_overdue
        counts["due_soon"] += clocks.is_due_soon
    return counts


# --- one request ------------------------------------------------------------------------------


def _entities(record: SubjectRequest) -> list[Party]:
    ids = record.entity_ids
    return list(db.session.scalars(select(Party).where(Party.id.in_(ids)).order_by(Party.name_key))) if ids else []


def _render_view(record: SubjectRequest, forms: dict | None = None, status: int = 200,
                 draft: answers.Draft | None = None):
    today = date.today()
    steps = available_steps(record, today) if current_user.can_edit else []
    forms = {step: (forms or {}).get(step) or step_form(step, record, today) for step in steps}
    if draft is not None and "answer" in forms:
        forms["answer"].draft_sha256.data = draft.sha256
    history = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == SubjectRequest.__tablename__,
                                                          AuditEvent.record_id == record.id).order_by(AuditEvent.id.desc())).all()
    answer_table = answers.table(record.answer.content) if record.answer else None
    texts = {name: request_services.shown_step_text(record, name) for name in request_services.STEP_TEXTS}
    return render_template("requests/view.html", record=record, clocks=request_services.clocks(record, today),
                           texts=texts, steps=STEPS, forms=forms, history=history, entities=_entities(record),
                           answer_table=answer_table, today=today, draft=draft,
                           draft_table=answers.table(draft.content) if draft is not None else None), status


@bp.route("/<int:record_id>")
@login_required
def view(record_id: int):
    record = request_services.purge_if_due(get_or_404(SubjectRequest, record_id))
    draft = None
    if request.args.get("draft") and current_user.can_edit and "answer" in available_steps(record, date.today()):
        assessments.ensure_fresh()  # the answer states today's verdicts, never yesterday's
        draft = answers.answer_draft(record)
    return _render_view(record, draft=draft)


@bp.route("/new", methods=["GET", "POST"])
@editor_required
def new():
    form = RequestForm()
    form.load_choices()
    if request.method == "GET":
        form.received_on.data = date.today()
    elif form.validate_on_submit():
        try:
            with services.write_unit(web_actor()):
                record = request_services.create_request(form.values())
        except services.DomainError as error:
            show_domain_errors(form, _on_form_fields(error))
        else:
            flash(f"Logged {record.label}.", "success")
            return redirect(url_for("requests.view", record_id=record.id))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("requests/form.html", form=form, record=None), status


def _on_form_fields(error: services.DomainError) -> services.DomainError:
    """The personal fields' errors go to the form's fields of the same name."""
    errors = dict(error.errors)
    if "requester" in errors:
        errors.setdefault("requester_name", []).extend(errors.pop("requester"))
    return services.DomainError(errors)


@bp.route("/<int:record_id>/edit", methods=["GET", "POST"])
@editor_required
def edit(record_id: int):
    record = request_services.purge_if_due(get_or_404(SubjectRequest, record_id))
    if record.status in request_services.CLOSED:
        flash(f"{record.label} is {record.status.label.lower()}: it can no longer change.", "warning")
        return redirect(url_for("requests.view", record_id=record_id)), 303
    form = RequestForm(data=_form_data(record))
    form.load_choices()
    unmerged, status = None, 200
    if request.method == "POST":
        form.version.data = request.form.get("version")  # the version the user's form was built on
    if form.validate_on_submit():
        try:
            with services.write_unit(web_actor()):
                record = get_or_404(SubjectRequest, record_id)
                merge = merging.plan(record, form.version.data, form.values(), answers=request.form,
                                     fields_of=_fields_of, label_of=lambda names: _label_of(form, names))
                request_services.update_request(record, merge.values, expected_version=merge.version)
        except services.DomainError as error:
            show_domain_errors(form, _on_form_fields(error))
        except merging.Unmerged as error:
            record = get_or_404(SubjectRequest, record_id)
            unmerged = error.merge
            current = RequestForm(formdata=None, data=_form_data(record))
            current.load_choices()
            merging_form(form, current, unmerged)
            status = 409
        except services.ConflictError:
            form.form_errors.append("Someone else saved this request at the same moment: nothing was saved. Save again.")
            status = 409
        else:
            flash(saved_message(record.label, merge), "success")
            return redirect(url_for("requests.view", record_id=record_id))
    elif request.method == "GET":
        form.version.data = record.version
    if status == 200 and (form.errors or form.form_errors):
        status = 400
    return render_template("requests/form.html", form=form, record=record, merge=unmerged), status


REQUESTER_FIELDS = ("requester_name", "requester_contact", "notes")


def _fields_of(key: str) -> tuple[str, ...]:
    """The form fields showing a value of the write (the requester's details are one value)."""
    return REQUESTER_FIELDS if key == "requester" else (key,)


def _label_of(form: RequestForm, names: tuple[str, ...]) -> str:
    return "Requester's name, contact and notes" if names == REQUESTER_FIELDS else form_labels(form, names)


def _form_data(record: SubjectRequest) -> dict:
    personal = record.personal
    return {
        "request_type": record.request_type.value, "received_on": record.received_on, "channel": record.channel.value,
        "identity_verified_on": record.identity_verified_on, "scope_entity_ids": [str(i) for i in record.entity_ids],
        "scope_purposes": record.scope_purposes, "is_for_controller": record.is_for_controller,
        "controller_id": str(record.controller_id) if record.controller_id else None,
        "requester_name": personal.requester_name if personal else "",
        "requester_contact": personal.requester_contact if personal else "",
        "notes": personal.notes if personal else "",
    }


@bp.route("/<int:record_id>/<any(acknowledge, verify, ask_controller, controller_answer, extend, answer, refuse):step>",
          methods=["POST"])
@editor_required
def step(record_id: int, step: str):
    record = request_services.purge_if_due(get_or_404(SubjectRequest, record_id))
    form = (AnswerForm if step == "answer" else StepForm)(prefix=step)
    _heading, _button, date_field, text_field = STEPS[step]
    draft = None
    if form.validate_on_submit():
        try:
            with services.write_unit(web_actor()):
                record = get_or_404(SubjectRequest, record_id)
                values = {date_field: form.on.data}
                if text_field:
                    values[text_field] = form.text.data
                # A step records its own fields: on a page built before another change it still applies,
                # unless someone recorded this same step meanwhile.
                version = merging.rebase(record, form.version.data, values)
                stale = version != services.whole_number(form.version.data)
                if step == "answer":
                    request_services.check_answerable(record)
                    draft = _reviewed_draft(record, form)
                    request_services.answer_request(record, form.on.data, expected_version=version,
                                                    content=draft.content)
                else:
                    request_services.update_request(record, values, expected_version=version)
        except services.DomainError as error:
            draft = getattr(error, "draft", draft)
            for key, messages in error.errors.items():
                target = form.on if key == date_field else form.text if key == text_field else (
                    getattr(form, key, None) if key in ("send_anyway",) else None)
                if target is not None:
                    target.errors = [*target.errors, *messages] if isinstance(target.errors, list) else list(messages)
                else:
                    form.form_errors.extend(messages)
        except merging.FieldsChanged as error:
            flash(f"{record.label} changed meanwhile: {error.by_text()} already recorded this. Review it and try again.", "warning")
            return redirect(url_for("requests.view", record_id=record_id)), 303
        except services.ConflictError:
            flash(f"{record.label} changed meanwhile: review it and try again.", "warning")
            return redirect(url_for("requests.view", record_id=record_id)), 303
        else:
            kept = " It had changed meanwhile: those changes are kept." if stale else ""
            flash(f"{STEPS[step][0]}: saved on {record.label}.{kept}", "success")
            return redirect(url_for("requests.view", record_id=record_id))
    record = get_or_404(SubjectRequest, record_id)
    if step not in available_steps(record, date.today()):
        flash(f"{STEPS[step][0]}: not possible now ({record.status.label.lower()}).", "warning")
        return redirect(url_for("requests.view", record_id=record_id)), 303
    date_label, text_label = STEP_LABELS.get(step, ("On", ""))
    form.on.label.text, form.text.label.text = date_label, text_label
    if step == "answer" and draft is None and form.draft_sha256.data:
        draft = answers.answer_draft(record)
    return _render_view(record, {step: form}, 400, draft=draft)


def _reviewed_draft(record: SubjectRequest, form: AnswerForm) -> answers.Draft:
    """The answer to send: the draft the person reviewed, rebuilt now and refused if it changed since,
    or if it has points to check and the person did not choose to send it as it is."""
    if not form.draft_sha256.data:
        raise services.DomainError({"": ["Build the draft answer and review it before sending."]})
    draft = answers.answer_draft(record)
    if draft.sha256 != form.draft_sha256.data:
        raise _Redrafted(draft)
    if draft.concerns and not form.send_anyway.data:
        raise services.DomainError({"send_anyway": [
            f"The draft has {len(draft.concerns)} point{'s' if len(draft.concerns) != 1 else ''} to check: fix them "
            "and rebuild the draft, or tick this to send it as it is."]})
    return draft


class _Redrafted(services.DomainError):
    def __init__(self, draft: answers.Draft):
        super().__init__({"": ["The register changed since the draft was built: review the new draft below and send "
                               "again."]})
        self.draft = draft


@bp.route("/<int:record_id>/answer.csv")
@login_required
def answer_file(record_id: int):
    """The answer as sent: register content only (kept after the requester's details are erased)."""
    record = request_services.purge_if_due(get_or_404(SubjectRequest, record_id))
    if record.answer is None:
        abort(404, description="This request has not been answered.")
    return record.answer.content, 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="request-{record.id}-answer-{record.answer.sent_on.isoformat()}.csv"',
        "X-Content-SHA256": record.answer.sha256,
    }


# --- the log as a workbook --------------------------------------------------------------------

LOG_COLUMNS = [
    ("ID", 8), ("Stable ID", 38), ("Type", 40), ("Channel", 12), ("Received", 12), ("Status", 18),
    ("Acknowledged", 12), ("Acknowledge by", 12), ("Identity verified", 12), ("Answer by (notice)", 12),
    ("Answer by (Art. 12(3))", 12), ("Answer by", 12), ("Extension told", 12), ("Extended answer by", 12),
    ("Extension reason", 40), ("Group entities in scope", 40), ("Purposes in scope", 30), ("For a controller", 10),
    ("Controller", 30), ("Controller asked", 12), ("Controller answered", 12), ("Controller's instructions", 40),
    ("Answered", 12), ("Answer SHA-256", 66), ("Refused", 12), ("Refusal reason", 40), ("Overdue", 10),
    ("Personal data erased at (UTC)", 20),
]


@bp.route("/log.xlsx")
@login_required
def log_workbook():
    """Every request with its clocks, for auditors: never the requester's details; the steps' texts until
    they are erased with them."""
    from ..exports.workbook import XlsxBook

    today = date.today()
    request_services.purge_due(today)
    names = dict(db.session.execute(select(Party.id, Party.legal_name)).all())
    book = XlsxBook()
    sheet = book.sheet("Requests", LOG_COLUMNS)
    for record in db.session.scalars(select(SubjectRequest).order_by(SubjectRequest.id)
                                     .options(selectinload(SubjectRequest.answer), selectinload(SubjectRequest.personal))):
        clocks = request_services.clocks(record, today)
        texts = {name: request_services.shown_step_text(record, name) for name in request_services.STEP_TEXTS}
        sheet.append([
            record.id, record.uid, record.request_type.label, record.channel.label, record.received_on, record.status.label,
            record.acknowledged_on, clocks.acknowledge_by.due_on, record.identity_verified_on, clocks.answer_by_notice.due_on,
            clocks.answer_by_law.due_on, clocks.answer_by.due_on, record.extension_told_on,
            clocks.extended_answer_by.due_on if clocks.extended_answer_by else None, texts["extension_reason"],
            "; ".join(names.get(i, f"#{i}") for i in record.entity_ids) or "Whole group", record.scope_purposes,
            record.is_for_controller, names.get(record.controller_id) if record.controller_id else None,
            record.controller_asked_on, record.controller_answered_on, texts["controller_instructions"],
            record.answered_on, record.answer.sha256 if record.answer else None, record.refused_on, texts["refusal_reason"],
            clocks.is_overdue, record.personal_data_purged_at,
        ])
    sheet.close()
    about = book.sheet("About", [("", 110)])
    about.append([f"Request log as of {today.isoformat()}, downloaded by {current_user.email}."])
    about.append(["Clocks: acknowledge within 5 working days; answer by the earlier of 30 days of receipt and identity "
                  "verification (privacy notice) and one month of receipt (GDPR Art. 12(3)); extendable by two further "
                  "months when the person is told before the first deadline."])
    about.append(["The requesters' names and contacts are not in this workbook; they are erased 30 days after the answer. "
                  "The reasons and the controller's instructions may name the person: they are erased with them and "
                  "read \"(erased)\" after."])
    about.close()
    spool = tempfile.TemporaryFile()
    book.save(spool)
    spool.seek(0)
    return send_file(spool, mimetype=XLSX, as_attachment=True, download_name=f"request-log-{today.isoformat()}.xlsx")

