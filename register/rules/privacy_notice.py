"""The privacy notice's promises on transfers and sensitive data (docs/transfer-law.md, section 8):

- "Data leaves the EEA only under adequacy, BCR or SCC": broken by a restricted EU-data route relying on
  anything else (a derogation, a code or certification, or no tool at all); UK and Swiss data are not
  part of that promise. The notice is where the controller tells people of its transfers and their
  safeguards (GDPR Art. 13(1)(f), 14(1)(f)).
- Sensitive data goes out only with explicit consent collected through a named mechanism (GDPR Art.
  9(2)(a), Art. 7(1)) or for vital interests (Art. 9(2)(c)).
"""

from __future__ import annotations

from .verdicts import Reason


# Privacy notice: "Data leaves the EEA only under adequacy, BCR (intra-group) or SCC."
NOTICE_PROMISE_MECHANISMS = frozenset({"adequacy", "bcr", "scc"})


_WITHOUT_BASIS = Reason("attention", "special-category data goes out without a recorded basis (explicit consent "
                                     "through a named mechanism, or vital interests)", "GDPR Art. 9(2)(a)/(c)")
_CONSENT_WITHOUT_MECHANISM = Reason("attention", "explicit consent is recorded as the basis for special-category "
                                                 "data, but not the mechanism that collects it",
                                    "GDPR Art. 9(2)(a); Art. 7(1)")
_PROMISES: dict[str, Reason] = {}


def _broken_promise(mechanism: str) -> Reason:
    """The privacy notice's promise broken by EU data relying on `mechanism` (one object per mechanism)."""
    found = _PROMISES.get(mechanism)
    if found is None:
        found = _PROMISES[mechanism] = Reason(
            "attention", f"breaks the privacy notice's promise that data leaves the EEA only under adequacy, BCR or "
                         f"SCC: this route relies on {'no transfer tool' if mechanism == 'none' else mechanism}",
            "privacy notice (transfers); GDPR Art. 13(1)(f)")
    return found
