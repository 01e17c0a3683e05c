"""The transfer law: pure functions on plain values (no Flask, no database; dates passed in).

Every judgement returns its reasons with the legal reference. Views, exports and the API only show
what this package decides. The law is written up, with its sources, in docs/transfer-law.md; the
country facts come from data/countries.yaml (`CountryData`). The modules, as the law's table of
contents:

- facts: the plain-value inputs (parties, instruments, TIAs, routes), and how their dates count.
- verdicts: what the rules return (reasons, a route's verdict per regime, vetting) and the statuses,
  severities and mechanisms the app filters on.
- regimes: the three regimes, where their data comes from and where it flows freely (GDPR / UK GDPR
  Art. 3 and 44; FADP Art. 3 and 16), onward transfers, each regime's articles.
- index: countries.yaml's law arranged once for per-route lookups.
- adequacy: adequacy decisions and their scope facts, the DPF, decisions to watch (GDPR Art. 45; UK
  GDPR Art. 45/45A; FADP Art. 16(1), DPO Annex 1).
- instruments: the EU SCCs (Decision (EU) 2021/914 and the pre-2021 sets), the IDTA and UK Addendum,
  the Swiss SCC, codes of conduct and certifications (Art. 46).
- bcr: binding corporate rules (Art. 47; FADP Art. 16(2)(e)).
- derogations: derogations for specific situations (Art. 49; FADP Art. 17).
- tia: transfer impact assessments (CJEU C-311/18; EDPB Recommendations 01/2020).
- vetting: ISO/IEC 27001 vendor vetting (GDPR Art. 28(1), Art. 32).
- privacy_notice: the privacy notice's promises on transfers and sensitive data (GDPR Art. 13(1)(f),
  Art. 9(2)).
- processors: roles, sub-processor changes and their notices (GDPR Art. 28(2) and (4)).
- tools, dates: what the tools' checks share; counting a year on.
- assess: a route's verdict put together (Chapter V; FADP Art. 16-17); batch: many routes on one date.
- the request clocks of data subjects' requests live in register/deadlines.py and are read from here.

`register.rules` keeps every public name of the modules, so that callers need not know the layout.
"""

from .adequacy import WatchedDecision, decisions_to_watch
from .assess import assess_route
from .batch import Batch
from .facts import (
    BcrApprovalFacts,
    BcrMembershipFacts,
    CertificateFacts,
    DpfFacts,
    InstrumentFacts,
    PartyFacts,
    RegionFacts,
    RouteFacts,
    StatementFacts,
    TiaFacts,
)
from .instruments import (
    NEW_SCC_DECISION,
    OLD_SCC_CONCLUDED_BY,
    OLD_SCC_DECISIONS,
    OLD_SCC_LAST_DAY,
    UK_OLD_SCC_CONCLUDED_BY,
    UK_OLD_SCC_LAST_DAY,
    UK_TOOLS_FROM,
)
from .privacy_notice import NOTICE_PROMISE_MECHANISMS
from .processors import (
    NOTICE_REFERENCE,
    ROLES_BY_RELATIONSHIP,
    SPECIFIC_AUTHORISATION_REFERENCE,
    EngagementLink,
    NoticeFacts,
    activation_blockers,
    objection_deadline,
    roles_for,
    strictest_authorisation,
    sub_processor_takes_effect,
)
from .regimes import (
    FADP_REVISED_FROM,
    REGIME_HOMES,
    REGIME_LAW,
    REGIMES,
    RegimeOfData,
    first_hop_regimes,
    regimes_of_data,
    within_free_flow,
)
from .tia import TIA_MECHANISMS
from .verdicts import (
    MECHANISMS,
    NO_TIA,
    SEVERITIES,
    STATUSES,
    Reason,
    RegimeAssessment,
    RouteAssessment,
    TiaState,
    VettingAssessment,
    rank,
    worst,
)
from .vetting import CERTIFICATE_EXPIRING_DAYS, ISO_2013_LAST_DAY, VETTING_STATES, dpf_reverification_due, vetting_state

# The request clocks (privacy notice; GDPR Art. 12(3); Reg. 1182/71 for months) live in their own pure
# module; the register reads them from here, the one home of legal judgements.
from ..deadlines import (  # noqa: E402, F401
    Clocks,
    Deadline,
    RequestDates,
    add_months,
    add_working_days,
    extension_problems,
    request_clocks,
)
