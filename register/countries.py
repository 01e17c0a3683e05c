"""Countries, international organisations and the adequacy facts of data/countries.yaml."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping, Optional

import pycountry
import yaml

from .config import PROJECT_ROOT

if TYPE_CHECKING:
    from flask import Flask

DEFAULT_FILE = PROJECT_ROOT / "data" / "countries.yaml"
REGIMES = ("EU", "UK", "CH")
ANSWERS = ("yes", "no")
# The values of models.DpfFramework; repeated here so this module needs no database.
DPF_FRAMEWORKS = ("eu_us", "uk_extension", "swiss_us")
# Codes people type that ISO does not have.
CODE_HINTS = {"EL": "Greece is GR", "UK": "the United Kingdom is GB"}

ID = re.compile(r"[A-Z0-9][A-Z0-9-]*")
ORGANISATION_ID = re.compile(r"[A-Z][A-Z0-9-]{2,31}")  # fits parties.organisation_code
FACT_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")  # fits scope_facts.fact_key
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Keys a file written for an earlier version may still hold, with what to write instead.
RENAMED_KEYS = MappingProxyType({
    "verify_for_exporters": "renamed applicability_in_doubt_for (with exporters and doubt): say so only when it is "
                            "unconfirmed whether the decision applies at all to those exporters (their routes then "
                            "need attention); a point about details goes in verify",
})


class CountriesFileError(ValueError):
    """The countries file is unreadable or breaks its schema; the message names the entry and key."""


# --- the loaded facts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A public source the facts were checked against."""

    id: str
    name: str
    url: str


@dataclass(frozen=True)
class ScopeQuestion:
    """A question about an importer that a partial adequacy decision depends on."""

    key: str
    question: str
    used_by: tuple[str, ...]


@dataclass(frozen=True)
class Organisation:
    """An international organisation: a destination of its own, never a place."""

    id: str
    name: str
    seat: str  # informational only: never makes a transfer intra-EEA
    note: Optional[str]


@dataclass(frozen=True)
class ScopeCondition:
    """The answer an importer must have given to a scope question."""

    fact: str
    required_answer: str  # "yes" or "no"


@dataclass(frozen=True)
class ApplicabilityDoubt:
    """Whether a decision applies at all to exporters in some countries is unconfirmed (countries.yaml
    `applicability_in_doubt_for`): a route from there cannot simply rely on it (rules._adequacy)."""

    exporters: frozenset[str]
    doubt: str


@dataclass(frozen=True)
class AdequacyInstrument:
    """One adequacy decision (or approval) for one destination under one regime."""

    id: str
    regime: str
    destination: str
    legal_reference: str
    valid_from: date
    valid_until: Optional[date]
    adopted_on: Optional[date]
    scope: tuple[ScopeCondition, ...]
    requires_dpf: Optional[str]
    at_risk: Optional[str]
    verify: tuple[str, ...]
    applicability_in_doubt: Optional[ApplicabilityDoubt]
    note: Optional[str]

    def in_force_on(self, day: date) -> bool:
        """Whether `day` falls between entry into force and the last valid day, both included."""
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def doubt_for(self, exporter_country: Optional[str]) -> Optional[str]:
        """Why the decision may not apply to a route from an exporter in `exporter_country` (None: no doubt)."""
        doubt = self.applicability_in_doubt
        return doubt.doubt if doubt is not None and exporter_country in doubt.exporters else None


@dataclass(frozen=True)
class LegalBasis:
    """The article adequacy rests on in a regime, over a date range."""

    article: str
    valid_from: Optional[date]
    valid_until: Optional[date]
    verify: tuple[str, ...]
    note: Optional[str]


@dataclass(frozen=True)
class CodeGroup:
    """Codes listed together with a note (outside the free-flow area, or not adequate)."""

    codes: tuple[str, ...]
    note: str
    verify: tuple[str, ...]


@dataclass(frozen=True)
class Regime:
    """One regime's free-flow area and adequacy instruments."""

    code: str
    name: str
    sources: tuple[str, ...]
    adequacy_articles: tuple[LegalBasis, ...]
    free_flow_name: str
    free_flow_note: str
    free_flow: frozenset[str]
    outside: tuple[CodeGroup, ...]
    not_adequate: tuple[CodeGroup, ...]
    adequacy: tuple[AdequacyInstrument, ...]

    def is_free_flow(self, code: str) -> bool:
        """Whether `code` lies in this regime's free-flow area (no transfer tool needed)."""
        return code in self.free_flow

    def adequacy_for(self, destination: str) -> tuple[AdequacyInstrument, ...]:
        """Every adequacy instrument naming `destination`, whatever its dates."""
        return self._by_destination.get(destination, ())

    @cached_property
    def _by_destination(self) -> Mapping[str, tuple[AdequacyInstrument, ...]]:
        # Rules look instruments up once per route; index them once per load.
        index: dict[str, tuple[AdequacyInstrument, ...]] = {}
        for instrument in self.adequacy:
            index[instrument.destination] = index.get(instrument.destination, ()) + (instrument,)
        return MappingProxyType(index)


@dataclass(frozen=True)
class CountryData:
    """Everything data/countries.yaml says, checked."""

    reviewed_on: date
    sources: tuple[Source, ...]
    scope_facts: Mapping[str, ScopeQuestion]
    organisations: Mapping[str, Organisation]
    regimes: Mapping[str, Regime]


# --- reading the file -------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates and yes/no as text and refuses duplicate keys.

    Dates stay text so a bad one is reported with its entry and key rather than as a parser crash;
    yes/no and NO (Norway) stay text because YAML 1.1 would read them as booleans.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        self.flatten_mapping(node)
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
# A fresh resolver table: add_implicit_resolver would share SafeLoader's lists.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


_NO_ORGANISATIONS: Mapping[str, Organisation] = MappingProxyType({})


class _Entry:
    """One mapping of the file with its place in it, so that every error names the entry and key."""

    def __init__(self, label: str, where: str, value: object, required: tuple[str, ...], optional: tuple[str, ...] = (),
                 renamed: Mapping[str, str] = MappingProxyType({})):
        self.label, self.where = label, where
        if not isinstance(value, dict):
            raise self.error("", f"expected a mapping of keys, got {_shown(value)}")
        for key in value:
            if key in renamed:
                raise self.error(str(key), renamed[key])
            if key not in required and key not in optional:
                expected = ", ".join(required + optional)
                raise self.error(str(key), f"unknown key (expected one of: {expected})")
        for key in required:
            if key not in value:
                raise self.error(key, "required key missing")
        self.value: dict = value

    def at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def error(self, key: str, problem: str) -> CountriesFileError:
        where = (self.at(key) if key else self.where) or "(top level)"
        return CountriesFileError(f"{self.label}: {where}: {problem}")

    def has(self, key: str) -> bool:
        return key in self.value

    def text(self, key: str) -> str:
        value = self.value[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected text, got {_shown(value)}")
        return value.strip()

    def optional_text(self, key: str) -> Optional[str]:
        return self.text(key) if self.has(key) else None

    def texts(self, key: str) -> tuple[str, ...]:
        """A note or a list of notes, as a tuple."""
        if not self.has(key):
            return ()
        value = self.value[key]
        if not isinstance(value, list):
            return (self.text(key),)
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.error(f"{key}[{index}]", f"expected text, got {_shown(item)}")
        return tuple(item.strip() for item in value)

    def required_date(self, key: str) -> date:
        # The loader keeps dates as text, so quoted and unquoted dates arrive alike.
        value = self.value[key]
        if isinstance(value, str) and ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.error(key, f"not a date: {value!r} (write YYYY-MM-DD)")

    def optional_date(self, key: str) -> Optional[date]:
        return self.required_date(key) if self.has(key) else None

    def items(self, key: str) -> list:
        value = self.value[key]
        if not isinstance(value, list) or not value:
            raise self.error(key, f"expected a non-empty list, got {_shown(value)}")
        return value

    def codes(self, key: str, known: Mapping[str, Organisation] = _NO_ORGANISATIONS) -> tuple[str, ...]:
        """A list of distinct ISO country codes (or ids in `known`)."""
        codes: list[str] = []
        for index, code in enumerate(self.items(key)):
            where = f"{key}[{index}]"
            self.check_code(where, code, known)
            if code in codes:
                raise self.error(where, f"duplicate code {code!r}")
            codes.append(code)
        return tuple(codes)

    def check_code(self, key: str, code: object, known: Mapping[str, Organisation] = _NO_ORGANISATIONS) -> str:
        if isinstance(code, str) and (code in known or (code == code.upper() and is_country(code))):
            return code
        hint = CODE_HINTS.get(code) if isinstance(code, str) else None
        expected = "an ISO 3166-1 alpha-2 country code" + (" or an international organisation id" if known else "")
        raise self.error(key, f"unknown code {_shown(code)} (expected {expected}{'; ' + hint if hint else ''})")

    def last_day(self, first: str, last: str) -> Optional[date]:
        """The date at `last`, checked not to fall before the date at `first`."""
        starts, ends = self.optional_date(first), self.optional_date(last)
        if starts and ends and ends < starts:
            raise self.error(last, f"{ends.isoformat()} is before {first} {starts.isoformat()}")
        return ends


def _shown(value: object) -> str:
    return repr(value) if not isinstance(value, (dict, list)) else type(value).__name__


def _label(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _entry_name(value: object, index: int) -> str:
    """A list item is named by its id when it has a usable one, else by its position."""
    item_id = value.get("id") if isinstance(value, dict) else None
    return f"[{item_id}]" if isinstance(item_id, str) and item_id.strip() else f"[{index}]"


def load(path: str | Path) -> CountryData:
    """Read and check a countries file; raise CountriesFileError naming the first mistake."""
    path = Path(path)
    label = _label(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CountriesFileError(f"{label}: cannot read the file: {error.strerror or error}") from error
    try:
        document = yaml.load(text, Loader=_Loader)  # a SafeLoader: builds plain values only
    except yaml.YAMLError as error:
        raise CountriesFileError(f"{label}: {_yaml_problem(error)}") from error
    return _read_document(label, document)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML syntax error as a line number and a hint legal staff can act on."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if problem == "mapping values are not allowed here":
        problem += " (a text containing ': ' must be quoted or written after >-)"
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else f"not valid YAML: {problem}"


def _read_document(label: str, document: object) -> CountryData:
    top = _Entry(label, "", document, ("reviewed_on", "sources", "scope_facts", "international_organisations", "regimes"))
    sources = _read_sources(top)
    scope_facts = _read_scope_facts(top)
    organisations = _read_organisations(top)
    regimes_entry = _Entry(label, "regimes", top.value["regimes"], REGIMES)
    instrument_ids: set[str] = set()
    regimes = {
        code: _read_regime(regimes_entry, code, sources, scope_facts, organisations, instrument_ids)
        for code in REGIMES
    }
    _check_scope_fact_use(top, scope_facts, regimes)
    return CountryData(
        reviewed_on=top.required_date("reviewed_on"),
        sources=tuple(sources.values()),
        scope_facts=MappingProxyType(scope_facts),
        organisations=MappingProxyType(organisations),
        regimes=MappingProxyType(regimes),
    )


def _read_sources(top: _Entry) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    for index, raw in enumerate(top.items("sources")):
        entry = _Entry(top.label, f"sources{_entry_name(raw, index)}", raw, ("id", "name", "url"))
        source = Source(id=entry.text("id"), name=entry.text("name"), url=entry.text("url"))
        if source.id in sources:
            raise entry.error("id", f"duplicate id {source.id!r}")
        if not source.url.startswith("https://"):
            raise entry.error("url", f"expected an https:// address, got {source.url!r}")
        sources[source.id] = source
    return sources


def _read_scope_facts(top: _Entry) -> dict[str, ScopeQuestion]:
    raw_facts = top.value["scope_facts"]
    if not isinstance(raw_facts, dict) or not raw_facts:
        raise top.error("scope_facts", "expected a mapping of scope fact keys")
    facts: dict[str, ScopeQuestion] = {}
    for key, raw in raw_facts.items():
        if not isinstance(key, str) or not FACT_KEY.fullmatch(key):
            raise top.error(f"scope_facts.{key}", "a scope fact key is lower-case letters, digits and _ (at most 64)")
        entry = _Entry(top.label, f"scope_facts.{key}", raw, ("question", "used_by"))
        used_by = entry.value["used_by"]
        # May be empty: a fact no decision asks any more can stay while answers to it are on record.
        if not isinstance(used_by, list) or not all(isinstance(item, str) for item in used_by):
            raise entry.error("used_by", "expected a list of adequacy entry ids")
        facts[key] = ScopeQuestion(key=key, question=entry.text("question"), used_by=tuple(used_by))
    return facts


def _read_organisations(top: _Entry) -> dict[str, Organisation]:
    organisations: dict[str, Organisation] = {}
    for index, raw in enumerate(top.items("international_organisations")):
        entry = _Entry(top.label, f"international_organisations{_entry_name(raw, index)}", raw, ("id", "name", "seat"), ("note",))
        organisation_id = entry.text("id")
        # An organisation is a destination of its own: its id must never read as a country.
        if is_country(organisation_id) or pycountry.countries.get(alpha_3=organisation_id.upper()) is not None:
            raise entry.error("id", f"{organisation_id!r} is an ISO country code; give the organisation its own id")
        if not ORGANISATION_ID.fullmatch(organisation_id):
            raise entry.error("id", f"{organisation_id!r}: an organisation id is 3 to 32 capitals, digits or -")
        if organisation_id in organisations:
            raise entry.error("id", f"duplicate id {organisation_id!r}")
        organisations[organisation_id] = Organisation(
            id=organisation_id,
            name=entry.text("name"),
            seat=entry.check_code("seat", entry.value["seat"]),
            note=entry.optional_text("note"),
        )
    return organisations


def _read_regime(
    regimes: _Entry,
    code: str,
    sources: Mapping[str, Source],
    scope_facts: Mapping[str, ScopeQuestion],
    organisations: Mapping[str, Organisation],
    instrument_ids: set[str],
) -> Regime:
    entry = _Entry(regimes.label, regimes.at(code), regimes.value[code],
                   ("name", "sources", "adequacy_articles", "free_flow", "adequacy"), ("outside", "not_adequate"))
    regime_sources = tuple(entry.items("sources"))
    for index, source_id in enumerate(regime_sources):
        if source_id not in sources:
            raise entry.error(f"sources[{index}]", f"{_shown(source_id)} is not a source id defined under sources")

    area = _Entry(entry.label, entry.at("free_flow"), entry.value["free_flow"], ("name", "note", "states"), ("territories",))
    states = area.codes("states")
    territories = area.codes("territories") if area.has("territories") else ()
    for index, territory in enumerate(territories):
        if territory in states:
            raise area.error(f"territories[{index}]", f"{territory} is already listed under states")
    free_flow = frozenset(states + territories)

    articles = []
    for index, raw in enumerate(entry.items("adequacy_articles")):
        basis = _Entry(entry.label, f"{entry.at('adequacy_articles')}[{index}]", raw, ("article",), ("from", "until", "note", "verify"))
        articles.append(LegalBasis(
            article=basis.text("article"),
            valid_from=basis.optional_date("from"),
            valid_until=basis.last_day("from", "until"),
            verify=basis.texts("verify"),
            note=basis.optional_text("note"),
        ))

    adequacy: list[AdequacyInstrument] = []
    for index, raw in enumerate(entry.items("adequacy")):
        adequacy.extend(_read_instruments(entry, code, index, raw, free_flow, scope_facts, organisations, instrument_ids))

    not_adequate = _read_code_groups(entry, "not_adequate", free_flow, organisations)
    adequate = {instrument.destination for instrument in adequacy}
    for index, group in enumerate(not_adequate):
        for listed in group.codes:
            if listed in adequate:
                raise entry.error(f"not_adequate[{index}].codes", f"{listed} also has an adequacy entry in {code}")

    return Regime(
        code=code,
        name=entry.text("name"),
        sources=regime_sources,
        adequacy_articles=tuple(articles),
        free_flow_name=area.text("name"),
        free_flow_note=area.text("note"),
        free_flow=free_flow,
        outside=_read_code_groups(entry, "outside", free_flow, _NO_ORGANISATIONS),
        not_adequate=not_adequate,
        adequacy=tuple(adequacy),
    )


def _read_code_groups(
    regime: _Entry, key: str, free_flow: frozenset[str], known: Mapping[str, Organisation]
) -> tuple[CodeGroup, ...]:
    """Codes listed with a note as outside the free-flow area or without adequacy."""
    if not regime.has(key):
        return ()
    groups = []
    for index, raw in enumerate(regime.items(key)):
        group = _Entry(regime.label, f"{regime.at(key)}[{index}]", raw, ("codes", "note"), ("verify",))
        codes = group.codes("codes", known)
        for position, listed in enumerate(codes):
            if listed in free_flow:
                raise group.error(f"codes[{position}]", f"{listed} is in the free-flow area")
        groups.append(CodeGroup(codes=codes, note=group.text("note"), verify=group.texts("verify")))
    return tuple(groups)


def _read_instruments(
    regime: _Entry,
    regime_code: str,
    index: int,
    raw: object,
    free_flow: frozenset[str],
    scope_facts: Mapping[str, ScopeQuestion],
    organisations: Mapping[str, Organisation],
    instrument_ids: set[str],
) -> list[AdequacyInstrument]:
    """One adequacy entry; an entry with `destinations` gives one instrument per destination."""
    entry = _Entry(
        regime.label, f"{regime.at('adequacy')}{_entry_name(raw, index)}", raw,
        ("id", "legal_reference", "from"),
        ("destination", "destinations", "adopted", "until", "scope", "requires_dpf", "at_risk", "verify",
         "applicability_in_doubt_for", "note"),
        renamed=RENAMED_KEYS,
    )
    instrument_id = entry.text("id")
    if not ID.fullmatch(instrument_id):
        raise entry.error("id", f"{instrument_id!r}: an id is capitals, digits and -")
    if instrument_id in instrument_ids:
        raise entry.error("id", f"duplicate id {instrument_id!r}")
    instrument_ids.add(instrument_id)

    if entry.has("destination") == entry.has("destinations"):
        raise entry.error("destination", "give either destination (one code) or destinations (a list)")
    if entry.has("destination"):
        destinations = (entry.check_code("destination", entry.value["destination"], organisations),)
    else:
        destinations = entry.codes("destinations", organisations)
    for destination in destinations:
        if destination in free_flow:
            key = "destination" if entry.has("destination") else "destinations"
            raise entry.error(key, f"{destination} is in the free-flow area of {regime_code}; it needs no adequacy")

    valid_from = entry.required_date("from")
    valid_until = entry.last_day("from", "until")
    adopted_on = entry.optional_date("adopted")
    if adopted_on and valid_from < adopted_on:
        raise entry.error("from", f"{valid_from.isoformat()} is before the adoption date {adopted_on.isoformat()}")

    scope: list[ScopeCondition] = []
    if entry.has("scope"):
        conditions = entry.value["scope"]
        if not isinstance(conditions, dict) or not conditions:
            raise entry.error("scope", "expected fact: yes/no pairs")
        for fact, answer in conditions.items():
            if fact not in scope_facts:
                raise entry.error(f"scope.{fact}", "not a scope fact defined under scope_facts")
            if answer not in ANSWERS:
                raise entry.error(f"scope.{fact}", f"expected yes or no, got {_shown(answer)}")
            scope.append(ScopeCondition(fact=fact, required_answer=answer))

    requires_dpf = entry.optional_text("requires_dpf")
    if requires_dpf is not None and requires_dpf not in DPF_FRAMEWORKS:
        raise entry.error("requires_dpf", f"expected one of {', '.join(DPF_FRAMEWORKS)}, got {requires_dpf!r}")

    doubt = None
    if entry.has("applicability_in_doubt_for"):
        # Doubt whether the decision applies at all to some exporters (not a detail of it: those go in
        # `verify`): their routes need attention and look for another tool.
        doubt_entry = _Entry(entry.label, entry.at("applicability_in_doubt_for"), entry.value["applicability_in_doubt_for"],
                             ("exporters", "doubt"))
        exporters = doubt_entry.codes("exporters")
        for position, exporter in enumerate(exporters):
            if exporter not in free_flow:
                raise doubt_entry.error(f"exporters[{position}]", f"{exporter} is not in the free-flow area of {regime_code}")
        doubt = ApplicabilityDoubt(exporters=frozenset(exporters), doubt=doubt_entry.text("doubt"))

    instrument = AdequacyInstrument(
        id=instrument_id,
        regime=regime_code,
        destination=destinations[0],
        legal_reference=entry.text("legal_reference"),
        valid_from=valid_from,
        valid_until=valid_until,
        adopted_on=adopted_on,
        scope=tuple(scope),
        requires_dpf=requires_dpf,
        at_risk=entry.optional_text("at_risk"),
        verify=entry.texts("verify"),
        applicability_in_doubt=doubt,
        note=entry.optional_text("note"),
    )
    return [replace(instrument, destination=destination) for destination in destinations]


def _check_scope_fact_use(top: _Entry, scope_facts: Mapping[str, ScopeQuestion], regimes: Mapping[str, Regime]) -> None:
    """Each fact's used_by must name exactly the entries that ask it, so legal staff can trust it."""
    for key, fact in scope_facts.items():
        asking = {instrument.id for regime in regimes.values() for instrument in regime.adequacy
                  if any(condition.fact == key for condition in instrument.scope)}
        listed = set(fact.used_by)
        if listed - asking:
            names = ", ".join(sorted(listed - asking))
            raise top.error(f"scope_facts.{key}.used_by", f"names {names}, with no scope condition on {key}")
        if asking - listed:
            names = ", ".join(sorted(asking - listed))
            raise top.error(f"scope_facts.{key}.used_by", f"misses {names}, with a scope condition on {key}")


# --- the facts the app runs on ----------------------------------------------------------------

_loaded: Optional[CountryData] = None


def init_app(app: Flask) -> None:
    """Load the countries file once at start-up; a bad file stops the app with the error."""
    global _loaded
    _loaded = load(app.config.get("COUNTRIES_FILE") or DEFAULT_FILE)
    app.extensions["countries"] = _loaded


def current() -> CountryData:
    """The loaded facts; outside an app, the default file read on first use."""
    global _loaded
    if _loaded is None:
        _loaded = load(DEFAULT_FILE)
    return _loaded


@lru_cache(maxsize=None)
def _iso_country(code: str) -> Any:
    return pycountry.countries.get(alpha_2=code) if len(code) == 2 else None


def _country(code: object) -> Any:
    return _iso_country(code.strip().upper()) if isinstance(code, str) else None


def is_country(code: object) -> bool:
    """Whether `code` is an ISO 3166-1 alpha-2 code known to pycountry (case and spaces tolerated)."""
    return _country(code) is not None


def is_organisation(code: object) -> bool:
    """Whether `code` is an international organisation id of the countries file."""
    return isinstance(code, str) and code in current().organisations


def is_scope_fact(key: object) -> bool:
    """Whether `key` is a scope fact defined in the countries file."""
    return isinstance(key, str) and key in current().scope_facts


def country_name(code: Optional[str]) -> str:
    """A country's common name, or an organisation's name; unknown codes are shown as given."""
    if not isinstance(code, str):
        return ""
    organisation = current().organisations.get(code)
    if organisation is not None:
        return organisation.name
    country = _country(code)
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


def _sort_key(label: str) -> str:
    # "Åland Islands" sorts with A, not after Z.
    decomposed = unicodedata.normalize("NFKD", label)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def destination_choices() -> list[tuple[str, str]]:
    """Every country and international organisation as (code, label), sorted by label."""
    choices = [(country.alpha_2, country_name(country.alpha_2)) for country in pycountry.countries]
    choices += [(item.id, f"{item.name} (international organisation)") for item in current().organisations.values()]
    return sorted(choices, key=lambda choice: _sort_key(choice[1]))
