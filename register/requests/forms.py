"""The forms of the request pages: they check shape; the services check meaning."""

from sqlalchemy import select
from wtforms import BooleanField, DateField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.validators import Optional as OptionalValue

from ..extensions import db
from ..forms import OptionalSelectField, RecordForm, enum_choices, values_choices
from ..models import Lifecycle, Party, PartyKind, RequestChannel, RequestType


class RequestForm(RecordForm):
    request_type = SelectField("Type", choices=enum_choices(RequestType), validators=[DataRequired()])
    received_on = DateField("Received on", validators=[DataRequired(message="Give the date the request was received.")])
    channel = SelectField("Channel", choices=enum_choices(RequestChannel), validators=[DataRequired()])
    requester_name = StringField("Requester's name", validators=[DataRequired(), Length(max=200)],
                                 description="Erased 30 days after the answer.")
    requester_contact = StringField("Requester's contact (email or address)", validators=[DataRequired(), Length(max=300)],
                                    description="Erased 30 days after the answer.")
    notes = TextAreaField("Notes about the requester", validators=[OptionalValue(), Length(max=2000)],
                          description="Personal: erased with the name and contact.")
    identity_verified_on = DateField("Identity verified on", validators=[OptionalValue()])
    scope_entity_ids = SelectMultipleField("Group entities in scope", coerce=str, validate_choice=True,
                                           description="None chosen: the whole group. For an access request: the "
                                                       "entities that hold the person's data.")
    scope_purposes = StringField("Purposes in scope", validators=[OptionalValue(), Length(max=300)],
                                 description="Comma-separated; empty for every purpose.")
    is_for_controller = BooleanField("We act as processor for the requester's organisation (ask its controller first)")
    controller_id = OptionalSelectField("Controller (client)", choices=[])

    def load_choices(self) -> None:
        entities = db.session.execute(select(Party.id, Party.legal_name).where(
            Party.kind == PartyKind.GROUP_ENTITY, Party.status != Lifecycle.RETIRED).order_by(Party.name_key)).all()
        clients = db.session.execute(select(Party.id, Party.legal_name).where(
            Party.kind == PartyKind.CLIENT, Party.status != Lifecycle.RETIRED).order_by(Party.name_key)).all()
        self.scope_entity_ids.choices = values_choices((str(i), name) for i, name in entities)
        self.controller_id.choices = values_choices(((str(i), name) for i, name in clients), blank="(none)")

    def values(self) -> dict:
        return {
            "request_type": self.request_type.data, "received_on": self.received_on.data, "channel": self.channel.data,
            "identity_verified_on": self.identity_verified_on.data,
            "scope_entity_ids": ",".join(self.scope_entity_ids.data or []) or None,
            "scope_purposes": self.scope_purposes.data, "is_for_controller": self.is_for_controller.data,
            "controller_id": int(self.controller_id.data) if self.controller_id.data else None,
            "requester": {"name": self.requester_name.data or "", "contact": self.requester_contact.data or "",
                          "notes": self.notes.data},
        }


class StepForm(RecordForm):
    """One step of a request (acknowledge, verify, ask, extend, answer, refuse): a date and maybe a text."""

    on = DateField("On", validators=[DataRequired(message="Give the date.")])
    text = TextAreaField("Reason", validators=[OptionalValue(), Length(max=4000)])


class AnswerForm(StepForm):
    """Sending the answer: the draft the person reviewed (its SHA-256), and, when the draft has points to
    check, the decision to send it as it is."""

    draft_sha256 = HiddenField()
    send_anyway = BooleanField("Send it as it is: where no appropriate safeguard is in place, the answer says so")
