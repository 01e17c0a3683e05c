"""A change made on an older version of a record, merged with what others saved meanwhile.

Every write records the fields it changed, before and after, and the version it gave the record
(audit.py). So the trail tells what a record was at the version a form (or an API client) started
from, the *base*; the record now is *theirs*; and the services' own coercion tells what the change
would make of each field, *mine* (services.recorded). All three are compared in the values the trail
records, where a route's instruments, an engagement's locations or an instrument's signatories are
sorted lists, so a collection compares as what it holds, not in the order a form listed it.

- A form sends every field: `plan` merges three ways. A field only I changed is mine; one only
  others changed is theirs, kept; one we both changed alike is fine; one we changed differently is a
  conflict, shown side by side, and the person chooses for it (nothing anyone saved is reverted
  unseen). Only what the person decided is written, on the current version.
- A partial change sends only what it changes (the API's PATCH, a request's step): `rebase` applies it
  on the current version unless a field it sends was changed meanwhile to something else.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from . import services
from .audit import PERSONAL_FIELDS, SECRET_FIELDS, plain
from .timeline import UNKEPT, events_since, fields_before

# The form's own fields that carry a merge across its round trip (templates/_merge.html).
SEEN = "merge_seen"
CHOSEN = "merge_conflict"
CHOICE = "resolve-"


@dataclass
class Group:
    """The values one form field shows (a route's destination is a country or an organisation), merged
    as one. Sides are tuples of the trail's values, one per key."""

    keys: tuple[str, ...]
    fields: tuple[str, ...]
    label: str
    base: tuple
    theirs: tuple
    mine: tuple
    by: tuple[str, ...]
    # Saved again by someone else after the person chose for it: the choice no longer stands.
    moved: bool = False
    # Shown as a conflict and sent back without a choice.
    unchosen: bool = False

    @property
    def id(self) -> str:
        return self.keys[0]


@dataclass
class Merge:
    """What to write, on which version, and what the person should know about it."""

    model: type
    version: int
    values: dict
    base_version: int
    conflicts: list[Group] = field(default_factory=list)
    # Changed meanwhile by others (alone, or as the person did): kept as they saved it.
    kept: list[Group] = field(default_factory=list)
    # Form fields to show as the record now is (their value stands).
    current_fields: set[str] = field(default_factory=set)

    @property
    def is_stale(self) -> bool:
        return self.base_version != self.version

    def shown(self, group: Group, side: str) -> str:
        """One side of a group ("base", "theirs", "mine") as a person reads it."""
        return "; ".join(shown_value(self.model, key, value) for key, value in zip(group.keys, getattr(group, side)))

    def kept_note(self) -> str:
        """'editor@example.org changed Contact person, Website' for the fields kept."""
        if not self.kept:
            return ""
        people: dict[str, list[str]] = {}
        for group in self.kept:
            for person in group.by or ("someone",):
                people.setdefault(person, []).append(group.label)
        return "; ".join(f"{person} changed {', '.join(labels)}" for person, labels in people.items())


class Unmerged(services.ConflictError):
    """Fields both sides changed differently: the person chooses; nothing was written."""

    def __init__(self, record: Any, merge: Merge):
        super().__init__(record, merge.base_version)
        self.merge = merge


class FieldsChanged(services.ConflictError):
    """A partial change sends fields that were changed meanwhile to other values; nothing was written."""

    def __init__(self, record: Any, expected_version: int, current: dict, by: dict[str, tuple[str, ...]]):
        super().__init__(record, expected_version)
        self.current = current  # field -> its value now, as the trail records it
        self.by = by

    def by_text(self) -> str:
        people = [person for key in self.current for person in self.by.get(key) or ()]
        return ", ".join(dict.fromkeys(people)) or "someone"

    def messages(self) -> dict[str, list[str]]:
        """{field: [what it is now, and who changed it]} for the API's error shape."""
        import json

        found = {}
        for key, value in self.current.items():
            now = "a value not shown" if key in SECRET_FIELDS | PERSONAL_FIELDS else json.dumps(value, ensure_ascii=False)
            found[key] = [f"Changed meanwhile by {', '.join(self.by.get(key) or ('someone',))}: it is now {now} "
                          f"(version {self.record.version})."]
        return found


def _current(record: Any) -> dict:
    return {name: plain(value) for name, value in services.spec_for(type(record)).snapshot(record).items()}


def _based_on(record: Any, expected_version: Any) -> Optional[int]:
    """None when the change is based on the current version; else the older version it is based on.
    Raises what services.check_version raises for a version that is missing, not a number, or one
    the record never had (nothing in the trail to merge from)."""
    try:
        services.check_version(record, expected_version)
    except services.ConflictError as error:
        if not 1 <= error.expected_version < record.version:
            raise
        return error.expected_version
    return None


def _who(events: list, keys: tuple[str, ...]) -> tuple[str, ...]:
    people: list[str] = []
    for event in events:
        if any(key in event.changes for key in keys) and event.actor_label not in people:
            people.append(event.actor_label)
    return tuple(people)


def _getlist(answers: Mapping, name: str) -> list:
    return answers.getlist(name) if hasattr(answers, "getlist") else list(answers.get(name) or [])


def plan(record: Any, expected_version: Any, values: dict, *, answers: Optional[Mapping] = None,
         fields_of: Optional[Callable[[str], tuple[str, ...]]] = None,
         label_of: Optional[Callable[[tuple[str, ...]], str]] = None) -> Merge:
    """Merge a whole form's `values`, built on `expected_version`, with the record as it is now.

    `answers` is what the form sent back after a conflict was shown: the version it showed the record
    at (SEEN), the groups that were in conflict then (CHOSEN) and the choice for each (CHOICE + id:
    "theirs" or "mine"). A choice stands only if nobody saved that group again since it was shown.
    For the fields shown without a conflict, the form showed the record at that version: what the
    person left as shown there is theirs, what they edited is theirs to decide.
    `fields_of(key)` names the form fields showing a value (same name by default), `label_of` words them.
    Raises Unmerged with the merge when a conflict remains undecided.
    """
    model = type(record)
    base_version = _based_on(record, expected_version)
    if base_version is None:
        return Merge(model, record.version, values, record.version)
    events = events_since(record, base_version)
    current = _current(record)
    base = fields_before(current, events)
    mine = services.recorded(model, values)
    answers = answers or {}
    seen = _seen(answers.get(SEEN), base_version, record.version)
    shown = base if seen is None else fields_before(current, [event for event in events if event.record_version > seen])
    chosen = set(_getlist(answers, CHOSEN)) if seen is not None else set()
    groups: dict[tuple[str, ...], list[str]] = {}
    for key in values:
        groups.setdefault(tuple((fields_of or (lambda name: (name,)))(key)) or (key,), []).append(key)
    merge = Merge(model, record.version, {}, base_version)
    for fields, keys in groups.items():
        keys = tuple(keys)
        b, t, m, s = (tuple(side.get(key) for key in keys) for side in (base, current, mine, shown))
        group = Group(keys, fields, label_of(fields) if label_of else ", ".join(fields), b, t, m, _who(events, keys))
        reference = s
        if group.id in chosen:
            choice = answers.get(CHOICE + group.id)
            if t != s:
                group.moved = True
            elif choice == "theirs":
                merge.kept.append(group)
                merge.current_fields.update(fields)
                continue
            elif choice == "mine":
                if m != t:
                    merge.values.update({key: values[key] for key in keys})
                continue
            else:
                group.unchosen = True
            reference = b
        if m == t or m == reference:  # not changed by me, or changed alike: theirs stands
            if t != b:
                merge.kept.append(group)
            merge.current_fields.update(fields)
        elif t == reference:  # changed only by me
            merge.values.update({key: values[key] for key in keys})
        else:
            merge.conflicts.append(group)
    if merge.conflicts:
        raise Unmerged(record, merge)
    return merge


def _seen(text: Any, base_version: int, current_version: int) -> Optional[int]:
    """The version a conflict page showed the record at (between the base and now), if any."""
    try:
        seen = services.whole_number(text)
    except ValueError:
        return None
    return seen if base_version < seen <= current_version else None


def rebase(record: Any, expected_version: Any, values: dict) -> int:
    """The version to apply a partial change on (only the fields in `values`): the current one, when no
    field it sends was changed since `expected_version` to a value other than the one sent. Raises
    FieldsChanged otherwise (and what services.check_version raises for a bad version)."""
    base_version = _based_on(record, expected_version)
    if base_version is None:
        return record.version
    events = events_since(record, base_version)
    changed = {name for event in events for name in event.changes}
    current = _current(record)
    mine = services.recorded(type(record), values)
    clashes = {key: current.get(key) for key in values if key in changed and mine.get(key) != current.get(key)}
    if clashes:
        raise FieldsChanged(record, base_version, clashes, {key: _who(events, (key,)) for key in clashes})
    return record.version


# --- showing a value --------------------------------------------------------------------------


def shown_value(model: type, key: str, value: Any) -> str:
    """A value as the trail records it, in words: labels for choices and records, country names."""
    from . import countries

    if value is UNKEPT:
        return "(not kept in the audit trail)"
    if value is services.REFUSED:
        return "(not valid)"
    if value is None or value == "" or value == []:
        return "\u2014"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if key in _COLLECTIONS:
        return _COLLECTIONS[key](value)
    column = services.spec_for(model).columns.get(key)
    if column is not None:
        enum_class = getattr(column.type, "enum_class", None)
        if enum_class is not None and value in enum_class._value2member_map_:
            return enum_class(value).label
        for foreign_key in column.foreign_keys:
            return _record_text(foreign_key.column.table.name, value)
        if key in ("country_code", "destination_country"):
            return f"{countries.country_name(value)} ({value})"
    return str(value)


def _record_text(table: str, record_id: Any) -> str:
    from .extensions import db
    from .models import AUDITED_MODELS, Party

    model = Party if table == Party.__tablename__ else next((m for m in AUDITED_MODELS if m.__table__.name == table), None)
    record = db.session.get(model, record_id) if model is not None and isinstance(record_id, int) else None
    return f"{record.label} #{record_id}" if record is not None else f"#{record_id}"


def _locations(value: list) -> str:
    from . import countries
    from .models import LocationActivity

    texts = []
    for item in value:
        code, _sep, activity = str(item).partition(":")
        label = LocationActivity(activity).label if activity in LocationActivity._value2member_map_ else activity
        texts.append(f"{countries.country_name(code)} ({label.lower()})")
    return ", ".join(texts)


def _signatories(value: list) -> str:
    texts = []
    for item in value:
        side, _sep, party_id = str(item).partition(":")
        texts.append(f"{side}: {_record_text('parties', int(party_id)) if party_id.isdigit() else party_id}")
    return "; ".join(texts)


def _memberships(value: list) -> str:
    texts = []
    for item in value:
        entity_id, bound_from, bound_to = (str(item).split(":") + ["", ""])[:3]
        party = _record_text("parties", int(entity_id)) if entity_id.isdigit() else entity_id
        texts.append(f"{party} from {bound_from}" + (f" to {bound_to}" if bound_to else ""))
    return "; ".join(texts)


def _instruments(value: list) -> str:
    return "; ".join(_record_text("transfer_instruments", item) for item in value)


def _requester(value: list) -> str:
    return " \u00b7 ".join(part for part in value if part)


_COLLECTIONS: dict[str, Callable[[Any], str]] = {
    "locations": _locations, "signatories": _signatories, "memberships": _memberships,
    "instrument_ids": _instruments, "requester": _requester,
}
