"""Sub-processor change notices (GDPR Art. 28(2)): clients are told, may object, and a proposed
sub-processor takes effect for their data only when the window has closed, or with an audited override."""

from datetime import date, timedelta

import pytest
from helpers import post_form

from register import rules, services
from register.extensions import db
from register.models import AuditEvent, ChangeNotice, Client, Engagement, GroupEntity, Lifecycle, Role, ThirdParty

TODAY = date(2026, 11, 25)
N = rules.NoticeFacts


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


# Each row: authorisation the client gave, its notice, start date -> severity of the blocker (None: it may
# take effect), words of the reason.
# Art. 28(2) first sentence: only with prior specific or general *written* authorisation (gap without one:
# no override lifts it). Under a specific one the client authorises this sub-processor (gap until it does).
# Art. 28(2) second sentence: under a general one, inform of intended changes and let the client object
# (attention while the window is open: an editor may override with a reason).
A, G = "attention", "gap"
CASES = [
    ("general", None, None, A, "has not been told"),
    ("general", N(sent_on=None, outcome="pending"), None, A, "has not been told"),
    ("general", N(sent_on=day(-10), objection_deadline=day(20)), None, A, "may object until 2026-12-15"),
    ("general", N(sent_on=day(-30), objection_deadline=day(0)), None, A, "may object until 2026-11-25"),  # the last day is still open
    ("general", N(sent_on=day(-31), objection_deadline=day(-1)), None, None, ""),
    ("general", N(sent_on=day(-31), objection_deadline=day(-1), outcome="no_objection"), None, None, ""),
    ("general", N(sent_on=day(-31), objection_deadline=day(-1)), day(-1), A, "falls inside"),  # a start inside the window
    ("general", N(sent_on=day(-31), objection_deadline=day(-1)), day(5), None, ""),
    ("general", N(sent_on=day(-31), objection_deadline=None), None, A, "deadline given to"),
    ("general", N(sent_on=day(-31), objection_deadline=day(-1), objection_received_on=day(-5)), None, A, "objected on 2026-11-20"),
    ("general", N(sent_on=day(-31), objection_deadline=day(-1), objection_received_on=day(-5), outcome="objection_resolved"), None, None, ""),
    # Upheld: the sub-processor is not used for that client's data, so nothing waits for it.
    ("general", N(sent_on=day(-31), objection_deadline=day(-1), objection_received_on=day(-5), outcome="objection_upheld"), None, None, ""),
    ("general", N(sent_on=day(-3), objection_deadline=day(27), outcome="authorised"), None, None, ""),  # agreed in writing
    # Told by the register's mail: only if the mail was delivered (failed or unknown: not shown to be told).
    ("general", N(sent_on=day(-31), objection_deadline=day(-1), mail="failed"), None, A, "was not delivered (failed)"),
    ("general", N(sent_on=day(-31), objection_deadline=day(-1), mail="unknown"), None, A, "was not delivered (unknown)"),
    ("general", N(sent_on=day(-31), objection_deadline=day(-1), mail="sent"), None, None, ""),
    ("general", N(outcome="authorised"), None, None, ""),  # agreed in writing, no notice needed
    (None, N(sent_on=day(-60), objection_deadline=day(-30), outcome="no_objection"), None, G, "no written authorisation"),
    ("not_required", None, None, G, "no written authorisation"),
    ("specific", N(sent_on=day(-60), objection_deadline=day(-30), outcome="no_objection"), None, G, "must authorise"),
    ("specific", None, None, G, "must authorise"),
    ("specific", N(sent_on=day(-3), outcome="authorised"), None, None, ""),
]


@pytest.mark.parametrize("authorisation, notice, starts_on, severity, words", CASES)
def test_a_sub_processor_takes_effect_as_art_28_2_says(authorisation, notice, starts_on, severity, words):
    reasons = rules.activation_blockers("AVM", authorisation, notice, TODAY, starts_on)
    assert (reasons[0].severity if reasons else None) == severity
    if reasons:
        assert words in reasons[0].text and "Art. 28(2)" in reasons[0].reference


@pytest.mark.parametrize("given, strictest", [
    (["general", "general"], "general"), (["general", "specific"], "specific"), (["specific", None], None),
    (["general", "not_required"], "not_required")])
def test_a_client_with_several_engagements_is_held_to_its_strictest_authorisation(given, strictest):
    assert rules.strictest_authorisation(given) == strictest


def test_the_deadline_counts_the_notice_period_in_calendar_days():
    assert rules.objection_deadline(date(2026, 1, 31), 30) == date(2026, 3, 2)
    assert rules.objection_deadline(date(2028, 2, 1), 28) == date(2028, 2, 29)


@pytest.fixture
def chain(writer):
    """Clients served by the HQ (general and specific authorisation), one served elsewhere, the group's
    own processor with its sub-processor, and a proposed sub-processor for the HQ's client work."""

    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_processor": True})
        avm = services.create(Client, {"legal_name": "Assurances Voyageurs Mutuelles", "country_code": "FR", "notice_period_days": 30})
        hanse = services.create(Client, {"legal_name": "Hanseatische Reise AG", "country_code": "DE", "notice_period_days": 14})
        other = services.create(Client, {"legal_name": "Served Elsewhere plc", "country_code": "GB"})
        de = services.create(GroupEntity, {"legal_name": "Meridian Assist GmbH", "country_code": "DE"})
        for client, entity, authorisation in ((avm, hq, "general"), (hanse, hq, "specific"), (other, de, "general")):
            services.create(Engagement, {"engager_id": client.id, "engaged_id": entity.id, "service": "Assistance",
                                         "relationship_type": "processor", "authorisation": authorisation})
        vendor = services.create(ThirdParty, {"legal_name": "Archivum NV", "country_code": "BE"})
        rival = services.create(ThirdParty, {"legal_name": "Shady Scan Ltd", "country_code": "GB"})
        crm = services.create(ThirdParty, {"legal_name": "Relata Inc", "country_code": "US"})
        # The group's own CRM (the HQ as controller) and its hosting: no client's data down there.
        services.create(Engagement, {"engager_id": hq.id, "engaged_id": crm.id, "service": "CRM", "relationship_type": "processor"})
        services.create(Engagement, {"engager_id": crm.id, "engaged_id": rival.id, "service": "CRM hosting",
                                     "relationship_type": "sub_processor"})
        proposed = services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Claims scanning",
                                                "relationship_type": "sub_processor", "status": "proposed",
                                                "planned_start_on": date.today() + timedelta(days=45)})
        return {"hq": hq, "avm": avm, "hanse": hanse, "other": other, "vendor": vendor, "rival": rival, "crm": crm,
                "proposed": proposed}

    return writer(build)


def change(writer, engagement_id: int, **values):
    def go():
        engagement = db.session.get(Engagement, engagement_id)
        return services.update(engagement, values, expected_version=engagement.version)

    return writer(go)


def activate(writer, engagement_id: int, **extra):
    return change(writer, engagement_id, status="active", starts_on=date.today() + timedelta(days=1), **extra)


def notice(writer, **values):
    return writer(lambda: services.create(ChangeNotice, values))


def clear_both(writer, chain, engagement_id=None):
    """AVM told 31 days ago without objection; Hanse's specific authorisation recorded."""
    engagement_id = engagement_id or chain["proposed"].id
    notice(writer, client_id=chain["avm"].id, engagement_id=engagement_id, sent_on=date.today() - timedelta(days=31),
           outcome="no_objection")
    notice(writer, client_id=chain["hanse"].id, engagement_id=engagement_id, outcome="authorised")


def errors_of(refused) -> str:
    return " ".join(message for messages in refused.value.errors.values() for message in messages)


def test_the_clients_concerned_are_those_up_the_chain_of_processing_for_them(app, chain, writer):
    from register.models import Relationship
    from register.notices import clients_served

    found = clients_served(db.session(), chain["hq"].id, Relationship.SUB_PROCESSOR)
    assert {party.legal_name: authorisation for party, authorisation in found.values()} == {
        "Assurances Voyageurs Mutuelles": "general", "Hanseatische Reise AG": "specific"}
    assert clients_served(db.session(), chain["hq"].id, Relationship.PROCESSOR) == {}  # the group's own processor
    assert clients_served(db.session(), chain["crm"].id, Relationship.SUB_PROCESSOR) == {}  # below the group's own processor
    # A second engagement of the HQ by AVM without written authorisation: AVM is held to that.
    writer(lambda: services.create(Engagement, {"engager_id": chain["avm"].id, "engaged_id": chain["hq"].id, "service": "Claims",
                                                "relationship_type": "processor"}))
    found = clients_served(db.session(), chain["hq"].id, Relationship.SUB_PROCESSOR)
    assert found[chain["avm"].id][1] is None


def test_a_proposed_sub_processor_waits_for_every_client_then_takes_effect(app, chain, writer):
    with pytest.raises(services.DomainError) as refused:
        activate(writer, chain["proposed"].id)
    messages = " ".join(refused.value.errors["status"])
    assert "Assurances Voyageurs Mutuelles has not been told" in messages and "Hanseatische Reise AG must authorise" in messages
    assert "activation_override_reason" not in refused.value.errors  # a missing authorisation cannot be overridden
    # Told today with 30 days' notice: the deadline is computed, and the window is still open.
    told = notice(writer, client_id=chain["avm"].id, engagement_id=chain["proposed"].id, sent_on=date.today(), outcome="pending")
    assert told.objection_deadline == date.today() + timedelta(days=30) and told.sub_processor_id == chain["vendor"].id
    notice(writer, client_id=chain["hanse"].id, engagement_id=chain["proposed"].id, outcome="authorised")
    with pytest.raises(services.DomainError) as still:
        activate(writer, chain["proposed"].id)
    assert "may object until" in errors_of(still) and "Hanseatische" not in errors_of(still)
    assert db.session.get(Engagement, chain["proposed"].id).status == Lifecycle.PROPOSED
    # The sending day was entered wrongly: corrected, the derived deadline follows it; the window closed.
    corrected = writer(lambda: services.update(db.session.get(ChangeNotice, told.id), {
        "sent_on": date.today() - timedelta(days=31), "objection_deadline": told.objection_deadline}, expected_version=told.version))
    assert corrected.objection_deadline == date.today() - timedelta(days=1)
    assert activate(writer, chain["proposed"].id).status == Lifecycle.ACTIVE


def test_a_replacement_needs_its_own_notice_and_a_notice_names_its_sub_processor(app, chain, writer):
    clear_both(writer, chain)
    activate(writer, chain["proposed"].id)
    # Swapping in another sub-processor is a replacement: the notices about Archivum do not cover it.
    with pytest.raises(services.DomainError) as refused:
        change(writer, chain["proposed"].id, engaged_id=chain["rival"].id)
    assert "has not been told" in errors_of(refused) and "must authorise" in errors_of(refused)
    assert db.session.get(Engagement, chain["proposed"].id).engaged_id == chain["vendor"].id
    # The way to replace: propose the new sub-processor, tell the clients about it, then let it take effect.
    replacement = writer(lambda: services.create(Engagement, {
        "engager_id": chain["hq"].id, "engaged_id": chain["rival"].id, "service": "Claims scanning", "relationship_type": "sub_processor",
        "status": "proposed", "planned_start_on": date.today() + timedelta(days=30)}))
    clear_both(writer, chain, replacement.id)
    assert db.session.scalars(db.select(ChangeNotice.sub_processor_id).where(ChangeNotice.engagement_id == replacement.id)).all() == [
        chain["rival"].id, chain["rival"].id]
    assert activate(writer, replacement.id).status == Lifecycle.ACTIVE


def test_a_sub_processor_entered_as_active_needs_the_same_or_an_override(app, chain, writer, make_user):
    from register.audit import Actor
    from register.models import AuditSource

    values = {"engager_id": chain["hq"].id, "engaged_id": chain["rival"].id, "service": "Courier", "relationship_type": "sub_processor"}
    with pytest.raises(services.DomainError) as refused:
        writer(lambda: services.create(Engagement, values))
    assert "must authorise" in errors_of(refused)
    # Without Hanse (its work moved elsewhere), only AVM's window remains: an editor records why it is already in place.
    hanse_work = db.session.scalar(db.select(Engagement).where(Engagement.engager_id == chain["hanse"].id))
    writer(lambda: services.retire(db.session.get(Engagement, hanse_work.id), expected_version=hanse_work.version))
    with pytest.raises(services.DomainError) as waiting:
        writer(lambda: services.create(Engagement, values))
    assert "activation_override_reason" in waiting.value.errors
    editor, _ = make_user(Role.EDITOR)
    reason = "In place since 2019 under the old register; AVM was told then (letter of 2019-03-02)."
    with services.write_unit(Actor(AuditSource.WEB, user=editor)):
        created = services.create(Engagement, {**values, "activation_override_reason": reason})
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.record_type == "engagements", AuditEvent.record_id == created.id)).one()
    assert event.user_id == editor.id and event.changes["activation_override_reason"] == [None, reason]
    # The stored reason does not carry over to the next change (a replacement): that needs a reason of its own.
    with pytest.raises(services.DomainError) as stale:
        change(writer, created.id, engaged_id=chain["vendor"].id, activation_override_reason=reason)
    assert "activation_override_reason" in stale.value.errors and "has not been told" in errors_of(stale)
    change(writer, created.id, engaged_id=chain["vendor"].id, activation_override_reason="Archivum took over the courier runs on 2026-11-20.")


def test_an_objection_blocks_until_resolved_and_an_override_is_given_for_one_change_only(app, chain, writer, make_user):
    from register.audit import Actor
    from register.models import AuditSource

    notice(writer, client_id=chain["hanse"].id, engagement_id=chain["proposed"].id, outcome="authorised")
    objected = notice(writer, client_id=chain["avm"].id, engagement_id=chain["proposed"].id, sent_on=date.today() - timedelta(days=40),
                      objection_received_on=date.today() - timedelta(days=20), objection_details="Data must stay in France.",
                      outcome="pending")
    with pytest.raises(services.DomainError) as refused:
        activate(writer, chain["proposed"].id)
    assert "objected on" in errors_of(refused)
    with pytest.raises(services.DomainError):
        activate(writer, chain["proposed"].id, activation_override_reason="   ")  # blank is no reason
    editor, _ = make_user(Role.EDITOR)
    reason = "Court-ordered evidence scanning; AVM's files are excluded from the service."
    with services.write_unit(Actor(AuditSource.WEB, user=editor)):
        engagement = db.session.get(Engagement, chain["proposed"].id)
        services.update(engagement, {"status": "active", "activation_override_reason": reason}, expected_version=engagement.version)
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.record_type == "engagements",
                                                           AuditEvent.record_id == chain["proposed"].id).order_by(AuditEvent.id.desc())).first()
    assert event.user_id == editor.id and event.changes["activation_override_reason"] == [None, reason]
    assert event.changes["status"] == ["proposed", "active"]
    assert objected.outcome.value == "pending"


def test_an_upheld_objection_leaves_the_client_out(app, chain, writer):
    notice(writer, client_id=chain["hanse"].id, engagement_id=chain["proposed"].id, outcome="authorised")
    notice(writer, client_id=chain["avm"].id, engagement_id=chain["proposed"].id, sent_on=date.today() - timedelta(days=10),
           objection_received_on=date.today() - timedelta(days=2), outcome="objection_upheld")
    assert activate(writer, chain["proposed"].id).status == Lifecycle.ACTIVE


@pytest.mark.parametrize("values, field, words", [
    ({"outcome": "objection_upheld"}, "outcome", "Record when the objection was received"),
    ({"objection_received_on": "2026-01-01", "outcome": "no_objection"}, "objection_received_on", "record when the notice was sent"),
    ({"sent_on": "2026-03-01", "objection_received_on": "2026-02-01"}, "objection_received_on", "cannot come before"),
    ({"sent_on": "2026-03-01", "objection_deadline": "2026-02-01"}, "objection_deadline", "cannot be before"),
    ({"sent_on": "2026-03-01", "objection_received_on": (date.today() + timedelta(days=150)).isoformat()}, "objection_received_on",
     "cannot be received in the future"),
    ({"sent_on": (date.today() + timedelta(days=3)).isoformat()}, "sent_on", "cannot have been sent in the future"),
], ids=["upheld-without-objection", "objection-without-notice", "objection-before-notice", "deadline-before-notice",
        "objection-received-in-the-future", "sent-in-the-future"])
def test_a_notice_that_contradicts_itself_is_refused(app, chain, writer, values, field, words):
    with pytest.raises(services.DomainError) as refused:
        notice(writer, client_id=chain["avm"].id, engagement_id=chain["proposed"].id, **{"outcome": "pending", **values})
    assert words in " ".join(refused.value.errors[field])


def test_a_client_without_notice_period_needs_a_deadline_and_only_sub_processors_get_notices(app, chain, writer):
    with pytest.raises(services.DomainError) as refused:
        notice(writer, client_id=chain["other"].id, engagement_id=chain["proposed"].id, sent_on="2026-03-01", outcome="pending")
    assert "notice period" in " ".join(refused.value.errors["objection_deadline"])
    assert "would not process Served Elsewhere plc's data" in " ".join(refused.value.errors["client_id"])  # served by another entity
    own = db.session.scalar(db.select(Engagement).where(Engagement.engager_id == chain["avm"].id))
    with pytest.raises(services.DomainError) as not_sub:
        notice(writer, client_id=chain["avm"].id, engagement_id=own.id, outcome="pending")
    assert "not one" in " ".join(not_sub.value.errors["engagement_id"])
    with pytest.raises(services.DomainError) as not_client:
        notice(writer, client_id=chain["hq"].id, engagement_id=chain["proposed"].id, outcome="pending")
    assert "expected a client" in " ".join(not_client.value.errors["client_id"])


def test_the_pages_show_the_log_and_the_form_keeps_the_override_with_its_errors(app, chain, writer, logged_in):
    told = notice(writer, client_id=chain["avm"].id, engagement_id=chain["proposed"].id, sent_on=date.today() - timedelta(days=5),
                  outcome="pending", sent_to="dpo@avm.example")
    client = logged_in(Role.EDITOR)
    engagement_page = client.get(f"/engagements/{chain['proposed'].id}").get_data(as_text=True)
    assert "Clients to tell of this sub-processor" in engagement_page and "may object until" in engagement_page
    assert "Hanseatische Reise AG must authorise" in engagement_page and "Served Elsewhere" not in engagement_page
    client_page = client.get(f"/clients/{chain['avm'].id}").get_data(as_text=True)
    assert "Notice period: 30 days" in client_page and "Claims scanning" in client_page
    notice_page = client.get(f"/notices/{told.id}").get_data(as_text=True)
    assert "may not yet take effect" in notice_page and "a general written authorisation" in notice_page
    # Activating through the form: refused with the reasons, the input kept, nothing written.
    form_path = f"/engagements/{chain['proposed'].id}/edit"
    before = db.session.query(AuditEvent).count()
    data = {"engager_id": f"#{chain['hq'].id}", "engaged_id": f"#{chain['vendor'].id}", "service": "Claims scanning",
            "relationship_type": "sub_processor", "status": "active", "planned_start_on": "2027-01-09",
            "version": str(chain["proposed"].version), "notes": "kept"}
    refused = post_form(client, form_path, data)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Cannot take effect yet" in page and "Hanseatische Reise AG must authorise" in page
    assert "record why" not in page and "kept</textarea>" in page  # a missing authorisation cannot be overridden
    assert db.session.query(AuditEvent).count() == before
    notice(writer, client_id=chain["hanse"].id, engagement_id=chain["proposed"].id, outcome="authorised")
    before = db.session.query(AuditEvent).count()
    refused = post_form(client, form_path, data)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "may object until" in page and "record why" in page and "kept</textarea>" in page
    assert db.session.query(AuditEvent).count() == before
    accepted = post_form(client, form_path, {**data, "activation_override_reason": "Urgent: scanning backlog ordered by the regulator."})
    assert accepted.status_code == 302
    assert "Activation override recorded" in client.get(f"/engagements/{chain['proposed'].id}").get_data(as_text=True)
    # New notices are offered from the engagement page with the client chosen (the role matrix of
    # test_record_pages covers the notice pages for every role).
    assert f"/notices/new?client_id={chain['hanse'].id}" in engagement_page


L = rules.EngagementLink
SUB = dict(relationship="sub_processor", engager_id=1)


# Art. 28(2): the "addition or replacement" of a sub-processor is what the client must be told of.
@pytest.mark.parametrize("before, after, takes_effect", [
    (None, L(status="active", engaged_id=2, **SUB), True),  # entered as active: an addition
    (None, L(status="proposed", engaged_id=2, **SUB), False),  # only intended
    (L(status="proposed", engaged_id=2, **SUB), L(status="active", engaged_id=2, **SUB), True),  # the intended change happens
    (L(status="retired", engaged_id=2, **SUB), L(status="active", engaged_id=2, **SUB), True),  # back again
    (L(status="active", engaged_id=2, **SUB), L(status="active", engaged_id=3, **SUB), True),  # a replacement
    (L(status="active", engaged_id=2, relationship="processor", engager_id=1),
     L(status="active", engaged_id=2, **SUB), True),  # now processing for clients
    (L(status="active", engaged_id=2, **SUB), L(status="active", engaged_id=2, **SUB), False),  # an edit of something else
    (None, L(status="active", engaged_id=2, relationship="processor", engager_id=1), False),  # the group's own processor
], ids=["added-active", "proposed", "activated", "reactivated", "replaced", "became-sub-processor", "other-edit", "not-sub"])
def test_what_makes_a_sub_processor_take_effect(before, after, takes_effect):
    assert rules.sub_processor_takes_effect(before, after) is takes_effect
