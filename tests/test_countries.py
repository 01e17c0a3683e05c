"""data/countries.yaml carries the reference's facts, and a broken file is refused with its entry and key."""

from dataclasses import FrozenInstanceError
from datetime import date

import flask
import pycountry
import pytest

from register import countries
from register.countries import CountriesFileError

EEA = ("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO").split()
EU_TERRITORIES = ("AX", "GF", "GP", "MQ", "RE", "YT", "MF")
CHECKED_ON = date(2026, 11, 25)


@pytest.fixture(scope="module")
def data() -> countries.CountryData:
    return countries.load(countries.DEFAULT_FILE)


def in_force(data: countries.CountryData, regime: str, destination: str, day: date = CHECKED_ON) -> list[str]:
    return [item.id for item in data.regimes[regime].adequacy_for(destination) if item.in_force_on(day)]


# --- the shipped file ---------------------------------------------------------------------------


def test_the_shipped_file_loads_with_its_review_date_and_sources(data):
    assert data.reviewed_on == CHECKED_ON
    assert list(data.regimes) == ["EU", "UK", "CH"]
    names = " ".join(source.name for source in data.sources)
    for source in ("EUR-Lex", "adequacy decisions page", "legislation.gov.uk", "Information Commissioner", "FDPIC",
                   "Annex 1", "European Data Protection Board"):
        assert source in names


def test_every_eea_state_and_eu_territory_is_in_the_eu_free_flow_area(data):
    assert data.regimes["EU"].free_flow == frozenset(EEA) | frozenset(EU_TERRITORIES)
    assert "GR" in data.regimes["EU"].free_flow and not countries.is_country("EL")


@pytest.mark.parametrize("code", ["GL", "FO", "PF", "NC", "WF", "PM", "BL", "TF", "AW", "CW", "SX", "BQ", "SJ", "GB", "CH"])
def test_territories_outside_the_eea_are_not_free_flow_for_eu_data(data, code):
    assert not data.regimes["EU"].is_free_flow(code)


def test_svalbard_is_listed_outside_the_eea_with_a_review_note(data):
    (group,) = [group for group in data.regimes["EU"].outside if "SJ" in group.codes]
    assert group.verify


def test_uk_and_swiss_free_flow_areas_are_the_home_country_only(data):
    assert data.regimes["UK"].free_flow == {"GB"}
    # The reference does not put Liechtenstein in Switzerland's area; it is adequate under Annex 1.
    assert data.regimes["CH"].free_flow == {"CH"}
    assert in_force(data, "CH", "LI") == ["CH-EEA"]


@pytest.mark.parametrize("regime, entry, first_day", [("UK", "UK-EEA", date(2021, 1, 1)), ("CH", "CH-EEA", date(2023, 9, 1))])
def test_eea_states_are_adequate_not_free_flow_for_uk_and_swiss_exports(data, regime, entry, first_day):
    instruments = [item for item in data.regimes[regime].adequacy if item.id == entry]
    assert sorted(item.destination for item in instruments) == sorted(EEA)
    assert {item.valid_from for item in instruments} == {first_day}
    assert not set(EEA) & data.regimes[regime].free_flow


# Which adequacy entries cover a destination on the reference's check date, per regime.
ADEQUACY_ON_CHECK_DATE = [
    ("JP", ["EU-JP"], ["UK-JP"], []),
    ("KR", ["EU-KR"], ["UK-KR"], []),
    ("GI", [], ["UK-GI"], ["CH-GI"]),
    ("MC", [], [], ["CH-MC"]),
    ("BR", ["EU-BR"], [], []),
    ("GB", ["EU-GB-2025-RENEWAL"], [], ["CH-GB"]),
    ("CH", ["EU-CH"], ["UK-CH"], []),
    ("US", ["EU-US-DPF"], ["UK-US-DPF"], ["CH-US-DPF"]),
    ("CA", ["EU-CA"], ["UK-CA"], ["CH-CA"]),
    ("FO", ["EU-FO"], ["UK-FO"], ["CH-FO"]),
    ("EPO", ["EU-EPO"], [], []),
    ("IN", [], [], []),
    ("AE", [], [], []),
]


@pytest.mark.parametrize("destination, eu, uk, ch", ADEQUACY_ON_CHECK_DATE)
def test_adequacy_per_regime_follows_the_reference_table(data, destination, eu, uk, ch):
    assert in_force(data, "EU", destination) == eu
    assert in_force(data, "UK", destination) == uk
    assert in_force(data, "CH", destination) == ch


@pytest.mark.parametrize("regime, destination", [("CH", "JP"), ("CH", "KR"), ("EU", "GI"), ("EU", "MC"), ("UK", "MC"),
                                                 ("UK", "BR"), ("CH", "BR"), ("UK", "EPO"), ("CH", "EPO")])
def test_explicit_refusals_of_the_table_are_recorded_as_not_adequate(data, regime, destination):
    assert any(destination in group.codes for group in data.regimes[regime].not_adequate)


def test_the_eu_uk_decision_is_three_instruments_covering_2023_and_ending_2031_12_27(data):
    windows = {item.id: (item.legal_reference, item.valid_from, item.valid_until)
               for item in data.regimes["EU"].adequacy_for("GB")}
    assert set(windows) == {"EU-GB-2021", "EU-GB-2025-EXTENSION", "EU-GB-2025-RENEWAL"}
    assert "2021/1772" in windows["EU-GB-2021"][0] and windows["EU-GB-2021"][1] == date(2021, 6, 28)
    assert "2025/1226" in windows["EU-GB-2025-EXTENSION"][0] and windows["EU-GB-2025-EXTENSION"][2] == date(2025, 12, 27)
    assert windows["EU-GB-2025-RENEWAL"][1:] == (date(2025, 12, 19), date(2031, 12, 27))
    assert in_force(data, "EU", "GB", date(2023, 5, 1))
    assert not in_force(data, "EU", "GB", date(2021, 6, 27))
    assert in_force(data, "EU", "GB", date(2031, 12, 27)) == ["EU-GB-2025-RENEWAL"]
    assert not in_force(data, "EU", "GB", date(2031, 12, 28))


@pytest.mark.parametrize("regime, framework, first_day", [
    ("EU", "eu_us", date(2023, 7, 10)), ("UK", "uk_extension", date(2023, 10, 12)), ("CH", "swiss_us", date(2024, 9, 15)),
])
def test_us_adequacy_requires_the_matching_dpf_framework(data, regime, framework, first_day):
    (instrument,) = data.regimes[regime].adequacy_for("US")
    assert instrument.requires_dpf == framework
    assert instrument.valid_from == first_day
    assert not instrument.in_force_on(date.fromordinal(first_day.toordinal() - 1))


def test_the_eu_us_dpf_is_flagged_at_risk_with_an_scc_fallback(data):
    (instrument,) = data.regimes["EU"].adequacy_for("US")
    assert "C-703/25 P" in instrument.at_risk and "SCC" in instrument.at_risk


@pytest.mark.parametrize("regime, destination, scope", [
    ("EU", "CA", {"ca_pipeda": "yes"}),
    ("UK", "CA", {"ca_pipeda": "yes"}),
    ("CH", "CA", {"ca_private_sector_law": "yes"}),
    ("EU", "JP", {"jp_appi_private_sector": "yes"}),
    ("UK", "JP", {"jp_appi_private_sector": "yes"}),
    ("EU", "KR", {"kr_pipa_covered": "yes", "kr_excluded_sector": "no"}),
    ("EU", "IL", {"il_automated_processing": "yes"}),
    ("UK", "IL", {"il_automated_processing": "yes"}),
    ("CH", "IL", {}),
    ("EU", "BR", {"br_lgpd_covered": "yes"}),
    ("EU", "NZ", {}),
])
def test_partial_decisions_carry_their_scope_conditions(data, regime, destination, scope):
    (instrument,) = data.regimes[regime].adequacy_for(destination)
    assert {condition.fact: condition.required_answer for condition in instrument.scope} == scope


def test_brazils_decision_is_in_doubt_only_for_norwegian_icelandic_and_liechtenstein_exporters(data):
    (instrument,) = data.regimes["EU"].adequacy_for("BR")
    assert instrument.applicability_in_doubt.exporters == {"NO", "IS", "LI"}
    assert "EEA Agreement" in instrument.doubt_for("NO") and instrument.doubt_for("DE") is None
    # Its entry into force is a detail in doubt for every exporter: a review note.
    assert any("Entry into force" in note for note in instrument.verify)


def test_an_entry_into_force_taken_from_the_adoption_date_is_flagged_for_review(data):
    for regime in data.regimes.values():
        for instrument in regime.adequacy:
            if instrument.adopted_on == instrument.valid_from:
                assert any("adoption date" in note for note in instrument.verify), instrument.id


@pytest.mark.parametrize("regime, entry, words", [
    ("EU", "EU-GB-2025-EXTENSION", "2025/1226"),
    ("EU", "EU-GB-2025-RENEWAL", "2031-12-27"),
    ("UK", "UK-FO", "Faroe"),
    ("UK", "UK-KR", "scope"),
])
def test_unconfirmed_facts_carry_a_verify_note(data, regime, entry, words):
    (instrument,) = [item for item in data.regimes[regime].adequacy if item.id == entry]
    assert any(words in note for note in instrument.verify)


def test_the_uk_approvals_article_changes_on_2026_02_05_with_a_review_note(data):
    (before, after) = data.regimes["UK"].adequacy_articles
    assert before.valid_until == date(2026, 2, 4) and after.valid_from == date(2026, 2, 5)
    assert "45A" in after.article and after.verify


def test_the_european_patent_organisation_is_an_organisation_not_a_place(data):
    assert countries.is_organisation("EPO") and not countries.is_country("EPO")
    assert data.organisations["EPO"].seat == "DE"
    assert all("EPO" not in regime.free_flow for regime in data.regimes.values())
    (instrument,) = data.regimes["EU"].adequacy_for("EPO")
    assert instrument.valid_from == date(2025, 7, 15) and "2025/1382" in instrument.legal_reference


def test_the_loaded_facts_are_immutable(data):
    (instrument,) = data.regimes["EU"].adequacy_for("US")
    with pytest.raises(FrozenInstanceError):
        instrument.valid_from = date(2000, 1, 1)
    with pytest.raises(TypeError):
        data.regimes["XX"] = data.regimes["EU"]


# --- lookups other code calls ---------------------------------------------------------------------


@pytest.mark.parametrize("code, expected", [("GR", True), (" gr ", True), ("EL", False), ("UK", False), ("XK", False),
                                            ("EPO", False), ("", False), (None, False)])
def test_is_country_accepts_iso_codes_only(code, expected):
    assert countries.is_country(code) is expected


@pytest.mark.parametrize("code, name", [("KR", "South Korea"), ("GR", "Greece"), ("TR", "Türkiye"),
                                        ("EPO", "European Patent Organisation"), ("XK", "XK")])
def test_country_name(code, name):
    assert countries.country_name(code) == name


def test_scope_facts_are_the_files_keys():
    assert countries.is_scope_fact("kr_excluded_sector")
    assert not countries.is_scope_fact("br_lgpd")


def test_destination_choices_list_every_country_and_organisation_by_label():
    choices = countries.destination_choices()
    assert len(choices) == len(pycountry.countries) + 1
    assert ("EPO", "European Patent Organisation (international organisation)") in choices
    labels = [label for _, label in choices]
    assert labels.index("Åland Islands") < labels.index("Albania")
    assert labels[-1] == "Zimbabwe"


def test_init_app_loads_the_configured_file(tmp_path, monkeypatch):
    monkeypatch.setattr(countries, "_loaded", None)
    copy = tmp_path / "countries.yaml"
    copy.write_text(countries.DEFAULT_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    app = flask.Flask(__name__)
    app.config["COUNTRIES_FILE"] = str(copy)
    countries.init_app(app)
    assert countries.current() is app.extensions["countries"]
    assert countries.current().reviewed_on == CHECKED_ON


def test_init_app_stops_the_app_on_a_malformed_file(tmp_path, monkeypatch):
    monkeypatch.setattr(countries, "_loaded", None)
    broken = tmp_path / "countries.yaml"
    broken.write_text(countries.DEFAULT_FILE.read_text(encoding="utf-8").replace("reviewed_on: 2026-11-25", "reviewed_on: soon"))
    app = flask.Flask(__name__)
    app.config["COUNTRIES_FILE"] = str(broken)
    with pytest.raises(CountriesFileError, match="reviewed_on: not a date: 'soon'"):
        countries.init_app(app)


# --- broken files ---------------------------------------------------------------------------------

# (what changes, replaced by, the message expected); each `old` must occur exactly once in the file.
BROKEN = {
    "bad date": ("adopted: 2023-07-10\n        from: 2023-07-10", "adopted: 2023-07-10\n        from: 2023-13-01",
                 "regimes.EU.adequacy[EU-US-DPF].from: not a date: '2023-13-01'"),
    "quoted date in another format": ("reviewed_on: 2026-11-25", "reviewed_on: '25/11/2026'",
                                      "reviewed_on: not a date: '25/11/2026'"),
    "until before from": ("until: 2031-12-27", "until: 2024-12-27",
                          "regimes.EU.adequacy[EU-GB-2025-RENEWAL].until: 2024-12-27 is before from 2025-12-19"),
    "from before adoption": ("adopted: 2012-08-21\n        from: 2012-08-21", "adopted: 2012-08-21\n        from: 2012-08-20",
                             "regimes.EU.adequacy[EU-UY].from: 2012-08-20 is before the adoption date 2012-08-21"),
    "unknown country code": ("destination: UY\n        legal_reference: Commission", "destination: XX\n        legal_reference: Commission",
                             "regimes.EU.adequacy[EU-UY].destination: unknown code 'XX'"),
    "EU protocol code for Greece": ("states: [AT, BE, BG, HR, CY, CZ, DK, EE, FI, FR, DE, GR,",
                                    "states: [AT, BE, BG, HR, CY, CZ, DK, EE, FI, FR, DE, EL,",
                                    "regimes.EU.free_flow.states[11]: unknown code 'EL' (expected an ISO 3166-1 alpha-2 country code; Greece is GR)"),
    "lower-case country code": ("destination: NZ\n        legal_reference: DPO", "destination: nz\n        legal_reference: DPO",
                                "regimes.CH.adequacy[CH-NZ].destination: unknown code 'nz'"),
    "organisation id that is an ISO code": ("  - id: EPO\n", "  - id: DE\n",
                                            "international_organisations[DE].id: 'DE' is an ISO country code"),
    "organisation id that is an alpha-3 code": ("  - id: EPO\n", "  - id: DEU\n",
                                                "international_organisations[DEU].id: 'DEU' is an ISO country code"),
    "undefined organisation": ("destination: EPO", "destination: EPA",
                               "regimes.EU.adequacy[EU-EPO].destination: unknown code 'EPA'"),
    "duplicate id": ("id: EU-UY", "id: EU-AD", "regimes.EU.adequacy[EU-AD].id: duplicate id 'EU-AD'"),
    "duplicate id across regimes": ("id: CH-MC", "id: UK-GI", "regimes.CH.adequacy[UK-GI].id: duplicate id 'UK-GI'"),
    "duplicate code in a list": ("PT, RO, SK, SI, ES, SE, IS, LI, NO]\n        legal_reference: DPA",
                                 "PT, RO, SK, SI, ES, SE, IS, LI, NO, SE]\n        legal_reference: DPA",
                                 "regimes.UK.adequacy[UK-EEA].destinations[30]: duplicate code 'SE'"),
    "duplicate key": ("until: 2031-12-27", "until: 2031-12-27\n        until: 2032-12-27", "duplicate key 'until'"),
    "missing required key": ("        legal_reference: Commission Decision 2012/484/EU\n", "",
                             "regimes.EU.adequacy[EU-UY].legal_reference: required key missing"),
    "unknown key": ("until: 2031-12-27", "untill: 2031-12-27",
                    "regimes.EU.adequacy[EU-GB-2025-RENEWAL].untill: unknown key"),
    "scope condition naming an undefined fact": ("scope:\n          ca_pipeda: yes\n        verify",
                                                 "scope:\n          ca_pipedaa: yes\n        verify",
                                                 "regimes.EU.adequacy[EU-CA].scope.ca_pipedaa: not a scope fact defined under scope_facts"),
    "scope answer other than yes or no": ("kr_excluded_sector: no", "kr_excluded_sector: maybe",
                                          "regimes.EU.adequacy[EU-KR].scope.kr_excluded_sector: expected yes or no, got 'maybe'"),
    "used_by out of step with the decisions": ("used_by: [EU-CA, UK-CA]", "used_by: [EU-CA]",
                                               "scope_facts.ca_pipeda.used_by: misses UK-CA, with a scope condition on ca_pipeda"),
    "unknown dpf framework": ("requires_dpf: eu_us", "requires_dpf: eu-us",
                              "regimes.EU.adequacy[EU-US-DPF].requires_dpf: expected one of eu_us, uk_extension, swiss_us"),
    "adequacy inside the free-flow area": ("destination: MC", "destination: CH",
                                           "regimes.CH.adequacy[CH-MC].destination: CH is in the free-flow area of CH"),
    "adequacy for a country listed as not adequate": ("      - codes: [JP, KR]\n", "      - codes: [JP, KR, GB]\n",
                                                      "regimes.CH.not_adequate[0].codes: GB also has an adequacy entry in CH"),
    "regime missing": ("\n  CH:\n    name: Swiss FADP", "\n  XCH:\n    name: Swiss FADP", "regimes.XCH: unknown key"),
    "applicability in doubt for an exporter outside the area": (
        "exporters: [NO, IS, LI]", "exporters: [NO, IS, CH]",
        "regimes.EU.adequacy[EU-BR].applicability_in_doubt_for.exporters[2]: CH is not in the free-flow area of EU"),
    "applicability in doubt without saying why": (
        "          doubt: Incorporation", "          verify: Incorporation",
        "regimes.EU.adequacy[EU-BR].applicability_in_doubt_for.verify: unknown key (expected one of: exporters, doubt)"),
    "the key's former name": ("        applicability_in_doubt_for:", "        verify_for_exporters:",
                              "regimes.EU.adequacy[EU-BR].verify_for_exporters: renamed applicability_in_doubt_for"),
    "text with an unquoted colon": ("note: Not in DPO Annex 1.", "note: Not in: DPO Annex 1.",
                                    "a text containing ': ' must be quoted"),
}


@pytest.mark.parametrize("old, new, message", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_is_refused_naming_the_entry_and_key(tmp_path, old, new, message):
    text = countries.DEFAULT_FILE.read_text(encoding="utf-8")
    assert text.count(old) == 1, "the mutation must hit exactly one place"
    broken = tmp_path / "countries.yaml"
    broken.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(CountriesFileError) as refused:
        countries.load(broken)
    assert str(refused.value).startswith(f"{broken}: ")
    assert message in str(refused.value)


def test_a_missing_regime_is_named(tmp_path):
    text = countries.DEFAULT_FILE.read_text(encoding="utf-8")
    broken = tmp_path / "countries.yaml"
    broken.write_text(text[: text.index("\n  CH:\n")] + "\n", encoding="utf-8")
    with pytest.raises(CountriesFileError, match=r"regimes\.CH: required key missing"):
        countries.load(broken)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CountriesFileError, match="cannot read the file"):
        countries.load(tmp_path / "nowhere.yaml")


def test_the_shipped_file_is_named_relative_to_the_project():
    with pytest.raises(CountriesFileError, match=r"^data/missing\.yaml: cannot read"):
        countries.load(countries.DEFAULT_FILE.with_name("missing.yaml"))
