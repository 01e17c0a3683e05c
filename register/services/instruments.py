"""Transfer instruments (SCCs, the UK Addendum, BCR, derogations...) with their signatories, and BCR approvals with their members."""

from datetime import date
from typing import Optional

from sqlalchemy.orm import Session

from ..bulk import get_record
from ..models import BcrApproval, BcrMembership, InstrumentKind, InstrumentParty, InstrumentSide, Party, PartyKind, TransferInstrument
from .checks import _is_list, _ordered
from .coerce import _coerce, whole_number
from .spec import SPECS, Errors, Spec, _add


SCC_DECISIONS = ("2021/914", "2010/87/EU", "2004/915/EC", "2001/497/EC")


def _validate_instrument(sess: Session, record: Optional[TransferInstrument], values: dict, errors: Errors) -> None:
    kind = values.get("kind")
    if kind == InstrumentKind.EU_SCC:
        if values.get("scc_decision") not in SCC_DECISIONS:
            _add(errors, "scc_decision", f"Choose the SCC decision: {', '.join(SCC_DECISIONS)}.")
        modules = values.get("scc_modules") or ""
        parts = [part.strip() for part in modules.split(",") if part.strip()]
        if values.get("scc_decision") == "2021/914" and (not parts or any(part not in {"1", "2", "3", "4"} for part in parts)):
            _add(errors, "scc_modules", "Give the modules used, from 1 to 4 (e.g. 2,3).")
    elif values.get("has_swiss_adaptation"):
        _add(errors, "has_swiss_adaptation", "Only EU SCCs take a Swiss adaptation.")
    if kind == InstrumentKind.UK_ADDENDUM and not values.get("uk_addendum_version"):
        _add(errors, "uk_addendum_version", "Give the Addendum's version.")
    if kind == InstrumentKind.BCR:
        approval_id = values.get("bcr_approval_id")
        if approval_id is None:
            _add(errors, "bcr_approval_id", "Choose the BCR approval relied on.")
        elif get_record(sess, BcrApproval, approval_id) is None:
            _add(errors, "bcr_approval_id", f"No BCR approval with id {approval_id}.")
    if kind == InstrumentKind.DEROGATION:
        if values.get("derogation_ground") is None:
            _add(errors, "derogation_ground", "Choose the Art. 49 ground.")
        if not values.get("derogation_justification"):
            _add(errors, "derogation_justification", "Document why the derogation applies (Art. 49, EDPB Guidelines 2/2018).")
    if kind in (InstrumentKind.CODE_OF_CONDUCT, InstrumentKind.CERTIFICATION) and not values.get("scheme_name"):
        _add(errors, "scheme_name", "Name the code of conduct or certification scheme.")
    _ordered(errors, values, "signed_on", "terminated_on", "The termination cannot be before the signature.")
    if not _is_list(errors, values, "signatories"):
        return
    for item in values.get("signatories") or []:
        try:
            party_id = whole_number(item["party_id"])
            InstrumentSide(item["side"])
        except (KeyError, TypeError, ValueError):
            _add(errors, "signatories", "Each signatory needs a party_id and a side (exporter or importer).")
            continue
        if get_record(sess, Party, party_id) is None:
            _add(errors, "signatories", f"No party with id {party_id}.")


def _read_signatories(record: TransferInstrument) -> list:
    return sorted(f"{item.side.value}:{item.party_id}" for item in record.signatories)


def _wanted_signatories(value: list) -> set[tuple[int, InstrumentSide]]:
    return {(int(item["party_id"]), InstrumentSide(item["side"])) for item in value or []}


def _recorded_signatories(value: list) -> list:
    return sorted(f"{side.value}:{party_id}" for party_id, side in _wanted_signatories(value))


def _write_signatories(sess: Session, record: TransferInstrument, value: list) -> None:
    wanted = _wanted_signatories(value)
    for item in list(record.signatories):
        if (item.party_id, item.side) not in wanted:
            record.signatories.remove(item)
    have = {(item.party_id, item.side) for item in record.signatories}
    for party_id, side in sorted(wanted - have):
        record.signatories.append(InstrumentParty(party_id=party_id, side=side))


def _validate_bcr(sess: Session, record: Optional[BcrApproval], values: dict, errors: Errors) -> None:
    _ordered(errors, values, "approved_on", "withdrawn_on", "The withdrawal cannot be before the approval.")
    if not _is_list(errors, values, "memberships"):
        return
    for item in values.get("memberships") or []:
        try:
            entity_id = whole_number(item["group_entity_id"])
            bound_from = _coerce(BcrMembership.__table__.c.bound_from, item["bound_from"])
            bound_to = _coerce(BcrMembership.__table__.c.bound_to, item.get("bound_to"))
        except (KeyError, TypeError, ValueError):
            _add(errors, "memberships", "Each member needs a group_entity_id and a bound_from date.")
            continue
        entity = get_record(sess, Party, entity_id)
        if entity is None or entity.kind != PartyKind.GROUP_ENTITY:
            _add(errors, "memberships", f"Only group entities can be bound by BCR (id {entity_id}).")
        if bound_from is None or (bound_to is not None and bound_to < bound_from):
            _add(errors, "memberships", "A membership's end cannot be before its start.")


def _read_memberships(record: BcrApproval) -> list:
    return [
        f"{item.group_entity_id}:{item.bound_from.isoformat()}:{item.bound_to.isoformat() if item.bound_to else ''}"
        for item in sorted(record.memberships, key=lambda m: (m.group_entity_id, m.bound_from))
    ]


def _wanted_memberships(value: list) -> dict[tuple[int, date], Optional[date]]:
    """(group entity, bound from) -> bound to, for each membership asked for."""
    wanted = {}
    for item in value or []:
        bound_from = _coerce(BcrMembership.__table__.c.bound_from, item["bound_from"])
        wanted[(int(item["group_entity_id"]), bound_from)] = _coerce(
            BcrMembership.__table__.c.bound_to, item.get("bound_to")
        )
    return wanted


def _recorded_memberships(value: list) -> list:
    return [f"{entity_id}:{bound_from.isoformat()}:{bound_to.isoformat() if bound_to else ''}"
            for (entity_id, bound_from), bound_to in sorted(_wanted_memberships(value).items())]


def _write_memberships(sess: Session, record: BcrApproval, value: list) -> None:
    wanted = _wanted_memberships(value)
    for item in list(record.memberships):
        key = (item.group_entity_id, item.bound_from)
        if key not in wanted:
            record.memberships.remove(item)
        else:
            item.bound_to = wanted.pop(key)
    for (entity_id, bound_from), bound_to in sorted(wanted.items()):
        record.memberships.append(BcrMembership(group_entity_id=entity_id, bound_from=bound_from, bound_to=bound_to))


SPECS.update(
    {
        TransferInstrument: Spec(
            TransferInstrument,
            collections={"signatories": (_read_signatories, _write_signatories)},
            recorded={"signatories": _recorded_signatories},
            validate=_validate_instrument,
            required=("kind", "title"),
        ),
        BcrApproval: Spec(
            BcrApproval,
            collections={"memberships": (_read_memberships, _write_memberships)},
            recorded={"memberships": _recorded_memberships},
            validate=_validate_bcr,
            required=("name", "regime", "bcr_type", "authority", "approved_on"),
        ),
    }
)
