"""Vendor vetting on ISO/IEC 27001 certificates: part of the sufficient guarantees a processor must
give (GDPR Art. 28(1); Art. 32), never a transfer tool (it is none of the safeguards of Art. 46(2), nor a
certification under Art. 42). 2013-edition certificates lapsed after 2025-10-31 (IAF MD 26, the
transition to ISO/IEC 27001:2022). docs/transfer-law.md, section 7.
"""

from __future__ import annotations

from datetime import date
from typing import Optional

from .dates import _add_years
from .facts import CertificateFacts, PartyFacts
from .verdicts import Reason, VettingAssessment, worst


# Best to worst: the order in which vetting_state picks a vendor's certificate.
VETTING_STATES = ("valid", "expiring", "unverified", "expired", "superseded_edition", "none")
# ISO/IEC 27001:2013 certificates are not valid on any day after 2025-10-31.
ISO_2013_LAST_DAY = date(2025, 10, 31)
CERTIFICATE_EXPIRING_DAYS = 90


_ISO_IS_NO_TOOL = Reason("info", "the importer's ISO/IEC 27001 certificate is not a transfer tool: it vets security, "
                                 "it does not make the transfer lawful", "GDPR Art. 46(2); Art. 42")
_VETTING_REJECTED = Reason("attention", "the importer's vendor vetting is rejected",
                           "GDPR Art. 28(1) (sufficient guarantees); Art. 32")
_LAPSED = {state: Reason("attention", f"the importer's ISO/IEC 27001 certificate has lapsed "
                                      f"({state.replace('_', ' ')})", "GDPR Art. 28(1); Art. 32")
           for state in ("expired", "superseded_edition")}


_VETTING_ORDER = {state: position for position, state in enumerate(VETTING_STATES)}


def vetting_state(party: PartyFacts, on: date) -> VettingAssessment:
    """A vendor's ISO/IEC 27001 vetting on `on`: its best certificate's state, review and rejection.

    Per certificate, the first that applies: superseded_edition (2013 edition after 2025-10-31),
    expired (past expires_on, or withdrawn), unverified (not verified in the 12 months before `on`),
    expiring (expires within 90 days, the 2013 cut-off counting as its expiry), valid. A certificate
    issued after `on` does not exist yet. The best certificate wins, in VETTING_STATES order.
    """
    best: Optional[tuple[int, str, CertificateFacts, date]] = None
    for certificate in party.certificates:
        if certificate.issued_on > on:
            continue
        state, ends = _certificate_state(certificate, on)
        if best is None or _VETTING_ORDER[state] < best[0] or (
                _VETTING_ORDER[state] == best[0] and ends > best[3]):
            best = (_VETTING_ORDER[state], state, certificate, ends)
    reasons: list[Reason] = []
    reference = "ISO/IEC 27001 vetting; GDPR Art. 28(1), Art. 32"
    if best is None:
        state, certificate = "none", None
        reasons.append(Reason("info", "no ISO/IEC 27001 certificate on record", reference))
    else:
        _, state, certificate, ends = best
        edition = f"ISO/IEC 27001:{certificate.edition}"
        texts = {
            "valid": ("info", f"{edition} certificate valid until {ends}"),
            "expiring": ("attention", f"{edition} certificate expires on {ends} (within {CERTIFICATE_EXPIRING_DAYS} "
                                      f"days)"),
            "unverified": ("attention", f"{edition} certificate not verified in the last 12 months (last verified: "
                                        f"{certificate.last_verified_on or 'never'})"),
            "expired": ("attention", f"{edition} certificate "
                                     + (f"withdrawn on {certificate.withdrawn_on}"
                                        if certificate.withdrawn_on is not None and certificate.withdrawn_on <= on
                                        else f"expired on {certificate.expires_on}")),
            "superseded_edition": ("attention", f"{edition} certificate: every 2013-edition certificate lapsed after "
                                                f"{ISO_2013_LAST_DAY} (transition to ISO/IEC 27001:2022)"),
        }
        severity, text = texts[state]
        reasons.append(Reason(severity, text, reference))
        if certificate.edition == "2013" and state in ("valid", "expiring", "unverified"):
            reasons.append(Reason("info", f"2013 edition: it must be replaced by a 2022-edition certificate by "
                                          f"{ISO_2013_LAST_DAY}", reference))
    review_overdue = party.vetting_next_review_on is not None and party.vetting_next_review_on < on
    if review_overdue:
        reasons.append(Reason("attention", f"vetting review overdue since {party.vetting_next_review_on}", reference))
    rejected = party.vetting_status == "rejected"
    if rejected:
        reasons.append(Reason("attention", "vendor vetting rejected", reference))
    status = worst(reason.severity for reason in reasons)
    return VettingAssessment(state, certificate, review_overdue, rejected, status, tuple(reasons))


DPF_RECERTIFICATION_YEARS = 1  # DPF Principles, Supplemental Principle 6: organisations re-certify every year


def dpf_reverification_due(verified_on: Optional[date]) -> Optional[date]:
    """When a DPF List entry as verified should be checked on the List again: a year after it was
    verified (organisations re-certify annually, Supplemental Principle 6); None: never verified, due now."""
    return None if verified_on is None else _add_years(verified_on, DPF_RECERTIFICATION_YEARS)


def _certificate_state(certificate: CertificateFacts, on: date) -> tuple[str, date]:
    """One certificate's state on `on`, and the last day it is (or was) valid."""
    ends = certificate.expires_on
    if certificate.edition == "2013" and ends > ISO_2013_LAST_DAY:
        ends = ISO_2013_LAST_DAY
    if certificate.edition == "2013" and on > ISO_2013_LAST_DAY:
        return "superseded_edition", ends
    if on > ends or (certificate.withdrawn_on is not None and certificate.withdrawn_on <= on):
        return "expired", ends
    if certificate.last_verified_on is None or certificate.last_verified_on < _add_years(on, -1):
        return "unverified", ends
    if (ends - on).days <= CERTIFICATE_EXPIRING_DAYS:
        return "expiring", ends
    return "valid", ends
