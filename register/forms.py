"""Form helpers shared by every page that writes."""

from enum import Enum
from typing import Iterable

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.validators import Regexp
from wtforms import SelectChoice

from .services import EMAIL, DomainError

# The services' own email check, so forms and services agree (no email_validator dependency).
email_address = Regexp(EMAIL, message="Not a valid email address.")


class RecordForm(FlaskForm):
    """A form that edits a versioned record: it carries the version it was built on."""

    version = HiddenField()


class OptionalSelectField(SelectField):
    """A select whose blank first choice means "none": empty is valid, anything else must be a choice."""

    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        if self.data == "":
            self.data = None

    def pre_validate(self, form) -> None:
        if self.data in (None, ""):
            return
        super().pre_validate(form)


def enum_choices(enum_class: type[Enum], blank: str | None = None) -> list:
    """WTForms 3.3 choice objects for an enumeration (tuples are deprecated)."""
    choices = [SelectChoice(member.value, member.label) for member in enum_class]
    if blank is not None:
        choices.insert(0, SelectChoice("", blank))
    return choices


def values_choices(pairs: Iterable[tuple[str, str]], blank: str | None = None) -> list:
    choices = [SelectChoice(value, label) for value, label in pairs]
    if blank is not None:
        choices.insert(0, SelectChoice("", blank))
    return choices


def show_domain_errors(form: FlaskForm, error: DomainError) -> None:
    """Put a service's field errors on the form's fields (the rest on the form itself)."""
    for field_name, messages in error.errors.items():
        field = form._fields.get(field_name) if field_name else None
        if field is not None and field.type not in ("HiddenField", "CSRFTokenField"):
            field.errors = [*field.errors, *messages] if isinstance(field.errors, list) else list(messages)
        else:
            label = f"{field_name.replace('_', ' ').capitalize()}: " if field_name and field is None else ""
            form.form_errors.extend(label + message for message in messages)
