"""docs/transfer-law.md is kept in step with data/countries.yaml: every adequacy entry, and the review date."""

import re

import pytest

from register import countries
from register.config import PROJECT_ROOT

LAW_NOTES = PROJECT_ROOT / "docs" / "transfer-law.md"
# The numbers that name an instrument in a legal_reference: an EU decision (2010/625/EU, (EU) 2021/1772),
# a UK statutory instrument (SI 2022/1213), a schedule paragraph or an annex.
INSTRUMENT_NUMBER = re.compile(r"(?:SI )?\d{4}/\d+(?:/E[UC])?|Sch\. \d+ para \d+|Annex \d+")


@pytest.fixture(scope="module")
def law() -> countries.CountryData:
    return countries.load(countries.DEFAULT_FILE)


@pytest.fixture(scope="module")
def notes() -> str:
    return LAW_NOTES.read_text(encoding="utf-8")


def what_the_row_must_state(instrument: countries.AdequacyInstrument) -> list[str]:
    """The instrument's numbers, dates, scope answers and DPF framework; VERIFY when the file doubts it."""
    wanted = INSTRUMENT_NUMBER.findall(instrument.legal_reference)
    wanted += [day.isoformat() for day in (instrument.adopted_on, instrument.valid_from, instrument.valid_until) if day]
    wanted += [f"`{condition.fact}: {condition.required_answer}`" for condition in instrument.scope]
    if instrument.requires_dpf:
        wanted.append(f"`{instrument.requires_dpf}`")
    if instrument.verify or instrument.applicability_in_doubt:
        wanted.append("VERIFY")
    return wanted


def test_every_adequacy_entry_of_countries_yaml_has_its_row_in_the_law_notes(law, notes):
    rows = [line for line in notes.splitlines() if line.startswith("|")]
    problems = []
    for regime in law.regimes.values():
        # An entry with several destinations is one instrument per destination: one row says them all.
        for instrument in {item.id: item for item in regime.adequacy}.values():
            found = [row for row in rows if row.startswith(f"| `{instrument.id}` |")]
            if len(found) != 1:
                problems.append(f"{instrument.id}: {len(found)} rows in the adequacy tables (expected 1)")
                continue
            missing = [text for text in what_the_row_must_state(instrument) if text not in found[0]]
            if missing:
                problems.append(f"{instrument.id}: its row does not state {', '.join(missing)}")
    assert not problems, "docs/transfer-law.md is behind data/countries.yaml:\n" + "\n".join(problems)


def test_the_law_notes_were_last_reviewed_with_countries_yaml(law, notes):
    stated = re.findall(r"^Last reviewed: (\d{4}-\d{2}-\d{2})$", notes, flags=re.MULTILINE)
    assert stated == [law.reviewed_on.isoformat()], (
        f"docs/transfer-law.md says 'Last reviewed: {', '.join(stated) or '(none)'}'; countries.yaml's reviewed_on "
        f"is {law.reviewed_on}: review the notes with the file and set both")
