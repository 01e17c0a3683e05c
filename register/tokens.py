"""Users make and revoke their own API tokens; a token acts with its user's role, limited by its
scope (read, or read and write, never above the role) and its expiry."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from . import services
from .api import make_token, revoke_token
from .extensions import MAX_ID, db
from .forms import show_domain_errors, values_choices
from .models import ApiToken, token_scopes_for, utcnow
from .users import web_actor

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


class TokenForm(FlaskForm):
    name = StringField("What the token is for", validators=[DataRequired(), Length(max=100)],
                       description="e.g. the vendor-risk tool's nightly sync")
    # Left out, they default to the most the role allows and to API_TOKEN_DAYS.
    scope = SelectField("What it may do", default=lambda: token_scopes_for(current_user.role)[-1].value)
    expires_in_days = IntegerField("Expires after (days)", default=lambda: current_app.config["API_TOKEN_DAYS"])


def token_form(**kwargs) -> TokenForm:
    """The token form, offering only the scopes the user's role allows."""
    form = TokenForm(**kwargs)
    scopes = token_scopes_for(current_user.role)
    form.scope.choices = values_choices((scope.value, scope.label) for scope in reversed(scopes))
    form.expires_in_days.description = f"At most {current_app.config['API_TOKEN_MAX_DAYS']} days."
    return form


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    form = token_form()
    secret = None
    if form.validate_on_submit():
        try:
            with services.write_unit(web_actor()):
                secret, _record = make_token(current_user._get_current_object(), form.name.data, form.scope.data,
                                             form.expires_in_days.data)
        except services.DomainError as error:
            show_domain_errors(form, error)
        else:
            form = token_form(formdata=None)
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id.desc())).all()
    response = render_template("tokens/index.html", form=form, tokens=tokens, secret=secret, now=utcnow())
    return response, 400 if form.errors else 200


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
