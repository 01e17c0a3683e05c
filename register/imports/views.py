"""Import pages: upload, preview (with progress while the file is checked), confirm. Editors and admins."""

import tempfile

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import HiddenField

from ..auth import editor_required
from ..errors import error_response
from ..jobs.queue import sweep
from . import jobs
from .formats import FORMATS
from .template import write_template

bp = Blueprint("imports", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_ROWS = 500
ORDER = {"error": 0, "update": 1, "create": 2, "unchanged": 3}


class UploadForm(FlaskForm):
    spreadsheet = FileField("Spreadsheet (.xlsx or .csv)", validators=[FileRequired("Choose a file to import.")])


class ConfirmForm(FlaskForm):
    digest = HiddenField()


def _own_folder(token: str):
    """The upload's folder, only for the user who uploaded it (anyone else: 404)."""
    folder = jobs.folder_of(token)
    meta = jobs.read_json(folder, "meta.json") if folder else None
    if meta is None or meta.get("user_id") != current_user.id:
        abort(404, description="No such import: it may have expired or been finished.")
    return folder, meta


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error):
    limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
    return error_response(413, "File too large", f"The largest file accepted is {limit} MB (MAX_UPLOAD_MB); nothing was "
                          "imported. Split the file, or import it with the command line (flask --app app import FILE).")


@bp.route("/imports", methods=["GET", "POST"])
@editor_required
def upload():
    form = UploadForm()
    if form.validate_on_submit():
        upload_file = form.spreadsheet.data
        name = upload_file.filename or "upload"
        if not name.lower().endswith((".xlsx", ".csv")):
            form.spreadsheet.errors.append("Upload an .xlsx workbook or a .csv file.")
        else:
            token = jobs.new_upload(upload_file, name, current_user.id)
            jobs.start(token, current_user.id, apply=False)
            return redirect(url_for("imports.preview", token=token))
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return render_template("imports/upload.html", form=form, formats=FORMATS, limit_mb=limit // (1024 * 1024))


@bp.route("/imports/template.xlsx")
@editor_required
def template():
    spool = tempfile.TemporaryFile()
    write_template(spool)
    spool.seek(0)
    return send_file(spool, mimetype=XLSX, as_attachment=True, download_name="transfer-register-import-template.xlsx")


@bp.route("/imports/<token>/status")
@editor_required
def status(token: str):
    folder, _meta = _own_folder(token)
    sweep()  # a job whose worker stopped is shown as such
    return jsonify(jobs.state_of(folder))


@bp.route("/imports/<token>")
@editor_required
def preview(token: str):
    folder, meta = _own_folder(token)
    sweep()
    state = jobs.state_of(folder)
    if state["state"] == "running":
        return render_template("imports/progress.html", token=token, meta=meta, state=state)
    outcome = jobs.outcome_of(folder) if state["state"] == "done" else None
    if outcome is None:
        return render_template("imports/preview.html", token=token, meta=meta, outcome=None, form=None, shown=SHOWN_ROWS,
                               state=state), 500
    form = ConfirmForm(digest=outcome.digest())
    if outcome.applied:
        jobs.discard(folder)
    # What needs a look comes first: errors, then updates (with their fields), then new records.
    rows = sorted(outcome.rows, key=lambda row: ORDER[row.action])[:SHOWN_ROWS]
    return render_template("imports/preview.html", token=token, meta=meta, outcome=outcome, form=form, shown=SHOWN_ROWS,
                           rows=rows)


@bp.route("/imports/<token>/confirm", methods=["POST"])
@editor_required
def confirm(token: str):
    folder, _meta = _own_folder(token)
    form = ConfirmForm()
    state = jobs.state_of(folder)
    if not form.validate_on_submit() or not form.digest.data:
        abort(400, description="The confirmation is missing what it confirms: go back to the preview.")
    if state.get("state") == "running":
        flash("This import is still being checked.", "info")
        return redirect(url_for("imports.preview", token=token))
    # Applied only if the register would get exactly the changes previewed; otherwise a new preview.
    jobs.start(token, current_user.id, apply=True, expected_digest=form.digest.data)
    return redirect(url_for("imports.preview", token=token))
