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


# Each row: authorisation the client gave, its notice, start date -> blocked?, words of the reason.
# Art. 28(2) second sentence: under a general authorisation, inform of intended changes and let the client object.
# Art. 28(2) first sentence: under a prior specific authorisation, the client must authorise the sub-processor.
CASES = [
    ("general", None, None, True, "has not been told"),
    ("general", N(sent_on=None, outcome="pending"), None, True, "has not been told"),
    ("general", N(sent_on=day(-10), objection_deadline=day(20)), None, True, "may object until 2026-12-15"),
    ("general", N(sent_on=day(-30), objection_deadline=day(0)), None, True, "may object until 2026-11-25"),  # the last day is still open
    ("general", N(sent_on=day(-31), objection_deadline=day(-1)), None, False, ""),
    ("general", N(sent_on=day(-31), objection_deadline=day(-1), outcome="no_objection"), None, False, ""),
    ("general", N(sent_on=day(-31), objection_deadline=day(-1)), day(-1), True, "falls inside"),  # a start inside the window
    ("general", N(sent_on=day(-31), objection_deadline=day(-1)), day(5), False, ""),
    ("general", N(sent_on=day(-31), objection_deadline=None), None, True, "deadline given to"),
    ("general", N(sent_on=day(-31), objection_deadline=day(-1), objection_received_on=day(-5)), None, True, "objected on 2026-11-20"),
    ("general", N(sent_on=day(-31), objection_deadline=day(-1), objection_received_on=day(-5), outcome="objection_resolved"), None, False, ""),
    ("general", N(sent_on=day(-31), objection_deadline=day(-1), objection_received_on=day(-5), outcome="objection_upheld"), None, True, "upheld"),
    ("general", N(sent_on=day(-3), objection_deadline=day(27), outcome="authorised"), None, False, ""),  # the client agreed in writing
    (None, N(sent_on=day(-3), objection_deadline=day(27)), None, True, "may object"),  # no recorded authorisation: as general
    ("specific", N(sent_on=day(-60), objection_deadline=day(-30), outcome="no_objection"), None, True, "must authorise"),
    ("specific", None, None, True, "must authorise"),
    ("specific", N(sent_on=day(-3), outcome="authorised"), None, False, ""),
]


@pytest.mark.parametrize("authorisation, notice, starts_on, blocked, words", CASES)
def test_activation_follows_art_28_2(authorisation, notice, starts_on, blocked, words):
    reasons = rules.activation_blockers("AVM", authorisation, notice, TODAY, starts_on)
    assert bool(reasons) is blocked
    if blocked:
        assert words in reasons[0].text and "Art. 28(2)" in reasons[0].reference and reasons[0].severity == "gap"


def test_the_deadline_counts_the_notice_period_in_calendar_days():
    assert rules.objection_deadline(date(2026, 1, 31), 30) == date(2026, 3, 2)
    assert rules.objection_deadline(date(2028, 2, 1), 28) == date(2028, 2, 29)


@pytest.fixture
def chain(writer):
    """Two clients served by the HQ (general and specific authorisation), and a proposed sub-processor."""

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
        proposed = services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Claims scanning",
                                                "relationship_type": "sub_processor", "status": "proposed",
                                                "planned_start_on": date.today() + timedelta(days=45)})
        return {"hq": hq, "avm": avm, "hanse": hanse, "other": other, "vendor": vendor, "proposed": proposed}

    return writer(build)


def activate(writer, engagement_id: int, **extra):
    def go():
        engagement = db.session.get(Engagement, engagement_id)
        return services.update(engagement, {"status": "active", "starts_on": date.today() + timedelta(days=1), **extra},
                               expected_version=engagement.version)

    return writer(go)


def notice(writer, **values):
    return writer(lambda: services.create(ChangeNotice, values))


def test_the_clients_concerned_are_those_up_the_chain(app, chain):
    from register.notices import clients_served
    from register.models import Relationship

    found = clients_served(db.session(), chain["hq"].id, Relationship.SUB_PROCESSOR)
    assert {party.legal_name: authorisation for party, authorisation in found.values()} == {
        "Assurances Voyageurs Mutuelles": "general", "Hanseatische Reise AG": "specific"}
    assert clients_served(db.session(), chain["hq"].id, Relationship.PROCESSOR) == {}  # the group's own processor


def test_a_proposed_sub_processor_waits_for_every_client_then_activates(app, chain, writer):
    with pytest.raises(services.DomainError) as refused:
        activate(writer, chain["proposed"].id)
    messages = " ".join(refused.value.errors["status"])
    assert "Assurances Voyageurs Mutuelles has not been told" in messages and "Hanseatische Reise AG must authorise" in messages
    assert "activation_override_reason" in refused.value.errors
    # Told today with 30 days' notice: the deadline is computed, and the window is still open.
    told = notice(writer, client_id=chain["avm"].id, engagement_id=chain["proposed"].id, sent_on=date.today(), outcome="pending")
    assert told.objection_deadline == date.today() + timedelta(days=30)
    notice(writer, client_id=chain["hanse"].id, engagement_id=chain["proposed"].id, sent_on=date.today(), outcome="authorised",
           objection_deadline=date.today() + timedelta(days=14))
    with pytest.raises(services.DomainError) as still:
        activate(writer, chain["proposed"].id)
    assert "may object until" in " ".join(still.value.errors["status"]) and "Hanseatische" not in " ".join(still.value.errors["status"])
    assert db.session.get(Engagement, chain["proposed"].id).status == Lifecycle.PROPOSED
    # The window closed without objection (recorded as sent 31 days ago): it may take effect.
    writer(lambda: services.update(db.session.get(ChangeNotice, told.id), {
        "sent_on": date.today() - timedelta(days=31), "objection_deadline": date.today() - timedelta(days=1)}, expected_version=told.version))
    assert activate(writer, chain["proposed"].id).status == Lifecycle.ACTIVE


def test_an_objection_blocks_until_resolved_and_an_override_needs_a_reason_that_is_audited(app, chain, writer, make_user):
    from register.audit import Actor
    from register.models import AuditSource

    notice(writer, client_id=chain["hanse"].id, engagement_id=chain["proposed"].id, sent_on=date.today() - timedelta(days=3),
           objection_deadline=date.today() + timedelta(days=11), outcome="authorised")
    objected = notice(writer, client_id=chain["avm"].id, engagement_id=chain["proposed"].id, sent_on=date.today() - timedelta(days=40),
                      objection_received_on=date.today() - timedelta(days=20), objection_details="Data must stay in France.",
                      outcome="pending")
    with pytest.raises(services.DomainError) as refused:
        activate(writer, chain["proposed"].id)
    assert "objected on" in " ".join(refused.value.errors["status"])
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


@pytest.mark.parametrize("values, field, words", [
    ({"outcome": "objection_upheld"}, "outcome", "Record when the objection was received"),
    ({"objection_received_on": "2026-01-01", "outcome": "no_objection"}, "objection_received_on", "record when the notice was sent"),
    ({"sent_on": "2026-03-01", "objection_received_on": "2026-02-01"}, "objection_received_on", "cannot come before"),
    ({"sent_on": "2026-03-01", "objection_deadline": "2026-02-01"}, "objection_deadline", "cannot be before"),
], ids=["upheld-without-objection", "objection-without-notice", "objection-before-notice", "deadline-before-notice"])
def test_a_notice_that_contradicts_itself_is_refused(app, chain, writer, values, field, words):
    with pytest.raises(services.DomainError) as refused:
        notice(writer, client_id=chain["avm"].id, engagement_id=chain["proposed"].id, **{"outcome": "pending", **values})
    assert words in " ".join(refused.value.errors[field])


def test_a_client_without_notice_period_needs_a_deadline_and_only_sub_processors_get_notices(app, chain, writer):
    with pytest.raises(services.DomainError) as refused:
        notice(writer, client_id=chain["other"].id, engagement_id=chain["proposed"].id, sent_on="2026-03-01", outcome="pending")
    assert "notice period" in " ".join(refused.value.errors["objection_deadline"])
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
    assert refused.status_code == 400 and "Cannot become active yet" in page and "record why" in page and "kept</textarea>" in page
    assert db.session.query(AuditEvent).count() == before
    accepted = post_form(client, form_path, {**data, "activation_override_reason": "Urgent: scanning backlog ordered by the regulator."})
    assert accepted.status_code == 302
    assert "Activation override recorded" in client.get(f"/engagements/{chain['proposed'].id}").get_data(as_text=True)
    # New notices are offered from the engagement page with the client chosen (the role matrix of
    # test_record_pages covers the notice pages for every role).
    assert f"/notices/new?client_id={chain['hanse'].id}" in client.get(f"/engagements/{chain['proposed'].id}").get_data(as_text=True)
