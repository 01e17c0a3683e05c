"""Derogations for specific situations: GDPR / UK GDPR Art. 49(1)(a)-(g) and the compelling legitimate
interests of its second subparagraph (Art. 49(6) for their documentation), FADP Art. 17; exceptional,
never plain covered (EDPB Guidelines 2/2018). docs/transfer-law.md, section 5.
"""

from __future__ import annotations

from .facts import InstrumentFacts
from .index import _RegimeIndex
from .tools import _Candidate


_DEROGATION_GROUNDS = {
    "a": ("(1)(a)", "explicit consent after being told the risks"),
    "b": ("(1)(b)", "contract with the data subject"),
    "c": ("(1)(c)", "contract in the data subject's interest"),
    "d": ("(1)(d)", "important public interest"),
    "e": ("(1)(e)", "legal claims"),
    "f": ("(1)(f)", "vital interests where the person cannot consent"),
    "g": ("(1)(g)", "public register"),
    "compelling_legitimate_interests": ("(1) second subparagraph", "compelling legitimate interests"),
}


def _derogation(rx: _RegimeIndex, instrument: InstrumentFacts) -> _Candidate:
    """Art. 49 derogations: exceptional, never plain covered (EDPB Guidelines 2/2018)."""
    ground = _DEROGATION_GROUNDS.get(instrument.derogation_ground or "")
    if rx.code == "CH":
        reference = rx.law.derogation
    else:
        reference = f"{rx.law.derogation}{ground[0]}" if ground else rx.law.derogation
    candidate = _Candidate("derogation", reference, 4, (instrument.id,))
    if ground is None:
        candidate.add("attention", "derogation relied on without a recorded ground", reference)
    else:
        candidate.add("attention", f"derogation ({ground[1]}): exceptional, for occasional transfers only - needs a "
                                   f"human's review", f"{reference}; EDPB Guidelines 2/2018")
    if not instrument.has_derogation_justification:
        compelling = instrument.derogation_ground == "compelling_legitimate_interests"
        documented = "GDPR Art. 49(6); Art. 30(1)(e)" if compelling else "EDPB Guidelines 2/2018"
        candidate.add("attention", "no written justification recorded for the derogation", documented)
    if rx.code == "CH":
        candidate.notes.append("Only the GDPR's Art. 49 grounds are recorded: check the matching FADP Art. 17 "
                               "ground for Swiss data.")
    return candidate
