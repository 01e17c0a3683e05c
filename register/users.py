"""Admins manage users; every change to a user is audited like any register record."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from . import services
from .audit import Actor
from .auth import admin_required, current_session_id, end_access, generate_password, hash_password, set_password
from .extensions import db, get_or_404
from .forms import RecordForm, email_address, enum_choices, show_domain_errors
from .models import AuditSource, Role, User

bp = Blueprint("users", __name__, url_prefix="/admin/users")


def web_actor() -> Actor:
    return Actor(AuditSource.WEB, user=current_user._get_current_object())


def create_user(email: str, name: str, role: Role, password: str) -> User:
    """Create a user (inside a write_unit)."""
    return services.create(
        User,
        {"email": email.strip().lower(), "name": name, "role": role, "password_hash": hash_password(password)},
    )


class UserForm(RecordForm):
    email = EmailField("Email", validators=[DataRequired(), email_address, Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    role = SelectField("Role", choices=enum_choices(Role), validators=[DataRequired()])
    is_active = BooleanField("Active", default=True)


@bp.route("/")
@admin_required
def index():
    users = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template("users/index.html", users=users)


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def create():
    form = UserForm()
    if form.validate_on_submit():
        password = generate_password()
        try:
            with services.write_unit(web_actor()):
                user = create_user(form.email.data, form.name.data, Role(form.role.data), password)
                if not form.is_active.data:
                    services.update(user, {"is_active": False}, expected_version=user.version)
        except services.DomainError as error:
            show_domain_errors(form, error)
        else:
            return render_template("users/password_shown.html", user=user, password=password, created=True)
    return render_template("users/form.html", form=form, user=None), 400 if form.errors else 200


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(user_id: int):
    from . import merge as merging
    from .records.crud import form_labels, merging_form, saved_message

    user = get_or_404(User, user_id)
    form = UserForm(obj=user)
    unmerged = None
    if request.method == "POST":
        form.version.data = request.form.get("version")  # as submitted, never the current one
    if form.validate_on_submit():
        if user.id == current_user.id and (Role(form.role.data) != Role.ADMIN or not form.is_active.data):
            form.role.errors.append("You cannot remove your own admin role or deactivate yourself.")
        else:
            values = {"email": form.email.data.strip().lower(), "name": form.name.data, "role": form.role.data,
                      "is_active": form.is_active.data}
            try:
                with services.write_unit(web_actor()):
                    user = get_or_404(User, user_id)
                    merge = merging.plan(user, form.version.data, values, answers=request.form,
                                         label_of=lambda names: form_labels(form, names))
                    values = dict(merge.values)
                    deactivated = values.get("is_active") is False and user.is_active
                    services.update(user, values, expected_version=merge.version)
                    if deactivated:  # sessions end, tokens are revoked: reactivating revives neither
                        end_access(user)
            except services.DomainError as error:
                show_domain_errors(form, error)
            except merging.Unmerged as error:
                user = get_or_404(User, user_id)
                unmerged = error.merge
                merging_form(form, UserForm(formdata=None, obj=user), unmerged)
            except services.ConflictError:
                return render_template("conflict.html", record=db.session.get(User, user_id),
                                       back=url_for("users.edit", user_id=user_id)), 409
            else:
                flash(saved_message(user.email, merge), "success")
                return redirect(url_for("users.index"))
    elif not form.is_submitted():
        form.version.data = user.version
    status = 409 if unmerged else 400 if form.errors else 200
    return render_template("users/form.html", form=form, user=user, merge=unmerged), status


@bp.route("/<int:user_id>/reset-password", methods=["POST"])
@admin_required
def reset_password(user_id: int):
    user = get_or_404(User, user_id)
    password = generate_password()
    # The user's sessions end and their tokens are revoked (an admin resetting their own keeps this session).
    keep = current_session_id() if user.id == current_user.id else None
    user = set_password(user.id, password, actor_user=current_user._get_current_object(), keep_session=keep)
    return render_template("users/password_shown.html", user=user, password=password, created=False)
