"""Users make and revoke their own API tokens; a token acts with its user's role."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from . import services
from .api import make_token, revoke_token
from .extensions import MAX_ID, db
from .forms import show_domain_errors
from .models import ApiToken
from .users import web_actor

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


class TokenForm(FlaskForm):
    name = StringField("What the token is for", validators=[DataRequired(), Length(max=100)],
                       description="e.g. the vendor-risk tool's nightly sync")


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        try:
            with services.write_unit(web_actor()):
                secret, _record = make_token(current_user._get_current_object(), form.name.data)
        except services.DomainError as error:
            show_domain_errors(form, error)
        else:
            form = TokenForm(formdata=None)
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())).all()
    response = render_template("tokens/index.html", form=form, tokens=tokens, secret=secret)
    return response, 400 if form.errors else 200, {"Cache-Control": "no-store"}


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int):
    with services.write_unit(web_actor()):
        token = db.session.get(ApiToken, token_id) if 0 < token_id <= MAX_ID else None
        if token is None or token.user_id != current_user.id:
            abort(404)
        if not token.is_revoked:
            revoke_token(token)
    flash("The token is revoked: it no longer works.", "success")
    return redirect(url_for("tokens.index"))
