"""What the register says about its verdicts, in words, for each audience: the one home of those words.

The rules (register/rules/) decide each route's mechanism and status per regime; this module only
says them, and it is the only place that does: the processor list, the public page, the change feed,
an access request's answer and the pages take their sentences from here, never from a table of their
own. Three audiences:

- `SUBJECT`: a data subject reading the processor list or an Art. 15 answer (GDPR Art. 13(1)(f),
  15(2): the safeguards of a third-country transfer, in plain words);
- `CLIENT`: a client controller told of a sub-processor (Art. 28(2)): the same words with the legal
  reference of each safeguard;
- `AUDITOR`: staff and auditors: short labels of the codes, with the status.

One promise holds for every audience: a sentence never states a safeguard the verdict does not hold.
A gap says plainly that no appropriate safeguard is in place; a verdict that needs attention says the
safeguard is being reviewed (a mechanism only a vendor states, unverified, is attention: never "covered"); an Art. 49 derogation is an exception, never called a safeguard.
"""

from __future__ import annotations

from typing import Optional

from . import rules

SUBJECT, CLIENT, AUDITOR = "subject", "client", "auditor"
AUDIENCES = (SUBJECT, CLIENT, AUDITOR)

MECHANISM_LABELS = {
    "none_needed": "No transfer tool needed",
    "adequacy": "Adequacy",
    "bcr": "Binding corporate rules",
    "scc": "EU standard contractual clauses",
    "uk_idta": "UK IDTA",
    "uk_addendum": "UK Addendum to the EU SCCs",
    "ch_scc": "EU SCCs with Swiss adaptations",
    "derogation": "Art. 49 derogation",
    "code_of_conduct": "Code of conduct",
    "certification": "Certification",
    "none": "No transfer tool",
}
STATUS_LABELS = {"out_of_scope": "Out of scope", "covered": "Covered", "attention": "Needs attention", "gap": "Gap"}
# Whose data a regime's verdict is about, as a person reads it.
DATA_FROM = {"EU": "data from the EEA", "UK": "data from the UK", "CH": "data from Switzerland", "": "data from elsewhere"}

# The safeguard a mechanism is, in plain words, before the verdict's status is said.
_SAFEGUARDS = {
    "bcr": "our group's binding corporate rules, approved by the data protection authorities",
    "scc": "standard contractual clauses adopted by the European Commission",
    "uk_idta": "the UK International Data Transfer Agreement",
    "uk_addendum": "the UK Addendum to the European Commission's standard contractual clauses",
    "ch_scc": "the European Commission's standard contractual clauses with the Swiss adaptations",
    "code_of_conduct": "an approved code of conduct that binds the recipient",
    "certification": "an approved certification that binds the recipient",
}
_ADEQUACY_BY = {
    "EU": "an adequacy decision of the European Commission",
    "UK": "UK adequacy regulations",
    "CH": "the Swiss Federal Council's list of countries with adequate protection",
}
# The legal reference a client is given with each safeguard (the verdict's own one where it is known).
_REFERENCES = {
    "bcr": {code: law.bcr for code, law in rules.REGIME_LAW.items()},
    "scc": {"EU": "Decision (EU) 2021/914; GDPR Art. 46(2)(c)"},
    "uk_idta": {"UK": "UK GDPR Art. 46(2)(d); DPA 2018 s. 119A"},
    "uk_addendum": {"UK": "UK GDPR Art. 46(2)(d); DPA 2018 s. 119A"},
    "ch_scc": {"CH": "FADP Art. 16(2)(d)"},
    "code_of_conduct": {code: law.code_of_conduct for code, law in rules.REGIME_LAW.items()},
    "certification": {code: law.certification for code, law in rules.REGIME_LAW.items()},
    "derogation": {code: law.derogation for code, law in rules.REGIME_LAW.items()},
    "none": {code: law.transfer for code, law in rules.REGIME_LAW.items()},
}

NO_SAFEGUARD = "no appropriate safeguard is in place for this transfer"
UNDER_REVIEW = "being reviewed"
SAFEGUARD_UNDER_REVIEW = "the safeguard for this transfer is being reviewed"
OUT_OF_SCOPE = "EU, UK and Swiss transfer rules do not apply"
NOT_RECORDED = "how personal data reaches this place is not recorded"


def mechanism_label(mechanism: str) -> str:
    return MECHANISM_LABELS.get(mechanism, mechanism)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def safeguard(regime: str, mechanism: str, status: str, audience: str = SUBJECT, *,
              adequacy_reference: Optional[str] = None, free_flow_name: Optional[str] = None) -> str:
    """How a transfer under `regime` is safeguarded, in the words of `audience`, from its verdict.

    `adequacy_reference` names the decision an adequacy verdict relies on (countries.yaml); without
    it the sentence stays general. `free_flow_name` is the regime's free-flow area ("the EEA").
    """
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    if audience == AUDITOR:
        return f"{mechanism_label(mechanism)} ({status_label(status)})"
    reference = adequacy_reference if mechanism == "adequacy" else _REFERENCES.get(mechanism, {}).get(regime)
    if mechanism == "none_needed":
        area = free_flow_name or rules.REGIME_HOMES.get(regime, "the same area")
        return f"within {area}, no transfer safeguard is needed"
    if mechanism == "none" and status == "attention":
        # Only a vendor's unverified statement (register/rules/assess.py): neither a safeguard nor its absence.
        return _cited(SAFEGUARD_UNDER_REVIEW, reference if audience == CLIENT else None)
    if status == "gap" or mechanism == "none":
        # A tool that does not hold (clauses a TIA found cannot be complied with, expired ones) is no safeguard.
        return _cited(NO_SAFEGUARD, reference if audience == CLIENT else None)
    if mechanism == "derogation":
        # Art. 49 applies "in the absence of" adequacy or appropriate safeguards: an exception, never a safeguard.
        return _cited("no appropriate safeguard: the transfer relies on an exception the law allows for specific "
                      "situations", reference)
    if mechanism == "adequacy":
        words = _ADEQUACY_BY.get(regime, "an adequacy decision")
        words = f"{words} ({adequacy_reference})" if adequacy_reference else words
    else:
        words = _cited(_SAFEGUARDS.get(mechanism, mechanism_label(mechanism)), reference if audience == CLIENT else None)
    return f"{words}, {UNDER_REVIEW}" if status == "attention" else words


def _cited(words: str, reference: Optional[str]) -> str:
    return f"{words} ({reference})" if reference else words


def combined(sentences: list[tuple[str, str]]) -> str:
    """What (regime, sentence) pairs for one place say together: one sentence when every regime says the
    same, else each regime's data with its own (several routes of one regime may rely on several tools)."""
    distinct = list(dict.fromkeys(sentence for _regime, sentence in sentences))
    if not distinct:
        return NOT_RECORDED
    if len(distinct) == 1:
        return distinct[0]
    by_regime: dict[str, list[str]] = {}
    for regime, sentence in sentences:
        said = by_regime.setdefault(regime, [])
        if sentence not in said:
            said.append(sentence)
    regimes_saying: dict[str, list[str]] = {}
    for regime, said in by_regime.items():
        words = said[0] if len(said) == 1 else f"depending on the transfer, {' or '.join(said)}"
        regimes_saying.setdefault(words, []).append(regime)
    if len(regimes_saying) == 1:
        return next(iter(regimes_saying))
    return "; ".join(f"for {' and '.join(DATA_FROM.get(regime, regime) for regime in regimes)}, {words}"
                     for words, regimes in regimes_saying.items())


def _complete() -> None:
    """Every mechanism and status the rules can return has its words (checked when the app loads)."""
    missing = [code for code in rules.MECHANISMS if code not in MECHANISM_LABELS]
    missing += [code for code in rules.STATUSES if code not in STATUS_LABELS]
    missing += [code for code in rules.REGIMES if code not in DATA_FROM or code not in _ADEQUACY_BY]
    if missing:
        raise RuntimeError(f"register/vocabulary.py has no words for: {', '.join(missing)}")


_complete()
