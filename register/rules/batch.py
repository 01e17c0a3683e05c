"""Assessing many routes on one date: what the routes of one list of facts share is worked out once
(register/assessments.py assesses the whole register this way). The verdicts are the same as one by one.
"""

from __future__ import annotations

from datetime import date

from ..countries import CountryData
from .facts import PartyFacts, RouteFacts
from .index import _index
from .verdicts import RegimeAssessment, VettingAssessment
from .vetting import vetting_state


class Batch:
    """What the routes of one list of facts share when they are assessed on one date.

    Many routes read the same facts (objects the loader shares: an importer, an exporter, an
    instrument), and a verdict depends only on the facts it reads: so each importer's vetting, and
    each regime's verdict on a restricted transfer for one combination of the facts it reads, are
    worked out once per batch and shared (they are immutable). Keys hold object identities; the
    batch keeps those objects alive, so that no other object can take an identity while it lasts.
    One batch per date and list of facts.
    """

    __slots__ = ("on", "law", "index", "vettings", "profiles", "regimes")

    def __init__(self, on: date, law: CountryData):
        self.on = on
        self.law = law
        self.index = _index(law)
        self.vettings: dict[int, tuple[VettingAssessment, PartyFacts]] = {}
        self.profiles: dict[int, tuple[object, PartyFacts]] = {}
        # Regime verdicts by the facts they read: the verdict, it alone in a tuple (most routes carry
        # one regime's data: their assessments share it), and a route that keeps those facts alive.
        self.regimes: dict[tuple, tuple[RegimeAssessment, tuple[RegimeAssessment], RouteFacts]] = {}

    def profile(self, importer: PartyFacts) -> object:
        """What a restricted transfer's verdict reads of an importer outside the group (see _restricted).

        Its kind, scope answers, whether it holds certificates, Art. 3(2) and its vendor statements; with
        DPF entries (matched against its legal name and aliases), the party itself. BCR never cover a transfer to it.
        """
        known = self.profiles.get(id(importer))
        if known is None:
            if importer.dpf:
                profile: object = id(importer)
            else:
                profile = (importer.kind, tuple(sorted(importer.scope_facts.items())), bool(importer.certificates),
                           importer.is_subject_to_gdpr_art3_2, importer.statements, importer.parent_name)
            known = self.profiles[id(importer)] = (profile, importer)
        return known[0]

    def vetting(self, importer: PartyFacts) -> VettingAssessment:
        """The importer's vetting on the batch's date, judged once per facts object."""
        known = self.vettings.get(id(importer))
        if known is None:
            known = self.vettings[id(importer)] = (vetting_state(importer, self.on), importer)
        return known[0]
