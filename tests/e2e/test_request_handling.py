"""An editor handles a request for our processor list in a real browser, from logging it to the answer kept."""

import re

from playwright.sync_api import Page, expect

from register import services
from register.models import Engagement, GroupEntity, Role, ThirdParty


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="The register")).to_be_visible()


def test_an_editor_answers_a_processor_list_request_and_the_snapshot_is_kept(page, make_user, writer):
    def build():
        hq = services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True})
        vendor = services.create(ThirdParty, {"legal_name": "Lingua Translations SARL", "country_code": "FR"})
        services.create(Engagement, {"engager_id": hq.id, "engaged_id": vendor.id, "service": "Translation",
                                     "relationship_type": "processor", "locations": ["FR"]})

    writer(build)
    editor, password = make_user(Role.EDITOR)
    log_in(page, editor.email, password)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    page.get_by_role("link", name="Log a request").click()
    page.get_by_label("Type").select_option("processor_list")
    page.get_by_label("Channel").select_option("email")
    page.get_by_label("Requester's name").fill("Ingrid Quarantotto")
    page.get_by_label("Requester's contact (email or address)").fill("ingrid.q@mail.example")
    page.get_by_role("button", name="Log the request").click()
    expect(page.get_by_text("Logged Request #1")).to_be_visible()
    expect(page.get_by_text("Ingrid Quarantotto")).to_be_visible()
    expect(page.get_by_role("cell", name="Acknowledge (5 working days)")).to_be_visible()

    page.get_by_role("button", name="Record the acknowledgement").click()
    expect(page.get_by_text("Acknowledge receipt: saved")).to_be_visible()
    expect(page.locator("h1 .badge")).to_have_text("Acknowledged")

    page.get_by_role("link", name="Build the draft answer").click()
    draft = page.locator("section.draft")
    expect(draft.get_by_role("cell", name="Lingua Translations SARL")).to_be_visible()
    # No route records how data reaches the vendor: the editor is told before sending, with a link to fix it.
    expect(draft.get_by_text("No transfer route to Lingua Translations SARL is recorded")).to_be_visible()
    expect(draft.get_by_role("link", name=re.compile(r"engagement #\d+"))).to_be_visible()
    expect(draft.get_by_role("cell", name=re.compile("how personal data reaches this place is not recorded"))).to_be_visible()
    page.get_by_role("button", name="Send this answer").click()
    expect(page.get_by_text("to check: fix them and rebuild the draft, or tick this")).to_be_visible()
    page.get_by_label("Send it as it is").check()
    page.get_by_role("button", name="Send this answer").click()
    expect(page.get_by_text("Answer: saved")).to_be_visible()
    expect(page.locator("h1 .badge")).to_have_text("Answered")
    answer = page.locator("section.answer")
    expect(answer.get_by_role("cell", name="Lingua Translations SARL")).to_be_visible()
    expect(answer.locator("code")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(page.get_by_role("link", name="Download the answer (CSV)")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Requests").click()
    expect(page.get_by_role("heading", name="Closed (latest 1)")).to_be_visible()
