"""An editor keeps the register in a real browser; an auditor reads it without edit controls."""

from playwright.sync_api import Page, expect

from register import services
from register.models import GroupEntity, Role


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="The register")).to_be_visible()


def choose_party(page: Page, field_id: str, typed: str) -> None:
    """Type part of a name and take the first suggestion, as a person picks from the list."""
    field = page.locator(f"#{field_id}")
    field.fill(typed)
    suggestion = page.locator(f"#{field_id}-suggestions option").first
    expect(suggestion).to_have_count(1)
    field.fill(suggestion.get_attribute("value"))
    field.dispatch_event("change")


def test_an_editor_builds_a_chain_and_an_auditor_reads_it(page, browser, live_server, make_user, writer):
    writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True}))
    editor, editor_password = make_user(Role.EDITOR)
    auditor, auditor_password = make_user(Role.AUDITOR)
    log_in(page, editor.email, editor_password)

    # A third party.
    page.get_by_role("link", name="Third parties").click()
    page.get_by_role("link", name="New third party").click()
    page.get_by_label("Legal name").fill("Nimbus Cloud Services, Inc.")
    page.get_by_label("Country").select_option(label="United States")
    page.get_by_label("Vetting status").select_option("approved")
    page.get_by_role("button", name="Create third party").click()
    expect(page.get_by_text("Created Nimbus Cloud Services, Inc.")).to_be_visible()

    # An engagement: the HQ engages it as processor, with its processing locations.
    page.goto("/engagements/new")
    choose_party(page, "engager_id", "Meridian")
    choose_party(page, "engaged_id", "Nimbus")
    page.get_by_label("Service").fill("Case platform hosting")
    page.get_by_label("Relationship").select_option("processor")
    page.locator("#locations").select_option(["US", "IE"])
    page.get_by_role("button", name="Create engagement").click()
    expect(page.get_by_text("Created Meridian Assist SA")).to_be_visible()

    # An instrument both sign.
    page.goto("/instruments/new")
    page.get_by_label("Kind").select_option("eu_scc")
    page.get_by_label("Title").fill("SCC Meridian-Nimbus 2024")
    page.get_by_label("SCC decision").select_option("2021/914")
    page.locator("#scc_modules").select_option(["2"])
    choose_party(page, "exporters-0-party_id", "Meridian")
    choose_party(page, "importers-0-party_id", "Nimbus")
    page.get_by_role("button", name="Create instrument").click()
    expect(page.get_by_text("Created SCC Meridian-Nimbus 2024")).to_be_visible()

    # A route: choosing the parties pre-fills destination, regimes, roles and engagement.
    page.goto("/routes/new")
    choose_party(page, "exporter_id", "Meridian")
    choose_party(page, "importer_id", "Nimbus")
    expect(page.locator("#destination")).to_have_value("US")
    expect(page.get_by_label("EU data (EU GDPR)")).to_be_checked()
    expect(page.locator("#importer_role")).to_have_value("processor")
    expect(page.locator("#engagement_id")).not_to_have_value("")
    expect(page.locator("#route-hints")).to_contain_text("established in the EEA")
    page.get_by_role("button", name="Create transfer route").click()
    expect(page.get_by_text("Created Meridian Assist SA")).to_be_visible()
    page.get_by_role("link", name="Edit").click()
    page.locator("#instrument_ids").select_option(label="SCC Meridian-Nimbus 2024 (EU Standard Contractual Clauses)")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="SCC Meridian-Nimbus 2024")).to_be_visible()
    # The verdict shows right after saving: an EU SCC Module 2 without a TIA needs attention.
    verdict = page.locator("#coverage")
    expect(verdict).to_contain_text("Coverage today")
    expect(verdict).to_contain_text("2021/914")
    expect(verdict).to_contain_text("attention")

    # Everything is findable in the lists.
    page.goto("/routes/?regime=EU")
    expect(page.get_by_role("cell", name="Nimbus Cloud Services, Inc.")).to_be_visible()
    page.goto("/engagements/?q=nimbus")
    expect(page.get_by_role("link", name="Case platform hosting")).to_be_visible()

    # An auditor sees it all, with no edit controls.
    context = browser.new_context(base_url=live_server)
    auditor_page = context.new_page()
    log_in(auditor_page, auditor.email, auditor_password)
    auditor_page.goto("/routes/?q=nimbus")
    expect(auditor_page.get_by_role("link", name="New transfer route")).to_have_count(0)
    auditor_page.get_by_role("cell", name="Nimbus Cloud Services, Inc.").get_by_role("link").click()
    expect(auditor_page.get_by_role("heading", name="Nimbus Cloud Services, Inc.")).to_be_visible()
    expect(auditor_page.get_by_text("Case platform hosting")).to_be_visible()
    expect(auditor_page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(auditor_page.get_by_role("link", name="Add certificate")).to_have_count(0)
    context.close()
