"""Two editors edit one third party at the same time, each in their own browser: neither loses work."""

from playwright.sync_api import Page, expect

from register import services
from register.models import Role, ThirdParty

from test_editing import log_in


def history_row(page: Page, who: str):
    """The record's latest change by `who` in its full history (newest first)."""
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=who, exact=True)).first


def test_two_editors_saving_one_record_keep_each_others_changes_and_choose_where_they_clash(page, browser, live_server,
                                                                                             make_user, writer):
    vendor = writer(lambda: services.create(ThirdParty, {"legal_name": "Cloudy Inc", "country_code": "US",
                                                         "vetting_status": "approved"}))
    alice, alice_password = make_user(Role.EDITOR)
    bruno, bruno_password = make_user(Role.EDITOR)
    edit = f"/third-parties/{vendor.id}/edit"
    log_in(page, alice.email, alice_password)
    context = browser.new_context(base_url=live_server)
    other = context.new_page()
    other.set_default_timeout(10_000)
    log_in(other, bruno.email, bruno_password)

    # Both open the record; Bruno saves a contact, then Alice saves her notes from the form she opened before.
    page.goto(edit)
    other.goto(edit)
    other.get_by_label("Contact person", exact=True).fill("Dora Lindqvist")
    other.get_by_role("button", name="Save").click()
    expect(other.get_by_text("Saved Cloudy Inc.")).to_be_visible()
    page.get_by_label("Notes", exact=True).fill("SOC 2 report read")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"Meanwhile {bruno.email} changed Contact person: kept as they saved it.")).to_be_visible()
    expect(page.get_by_text("Dora Lindqvist", exact=True)).to_be_visible()
    expect(page.get_by_text("SOC 2 report read", exact=True)).to_be_visible()
    page.get_by_role("link", name="Full history").click()
    expect(history_row(page, alice.email)).to_contain_text("notes")
    expect(history_row(page, alice.email)).not_to_contain_text("contact_name")
    expect(history_row(page, bruno.email)).to_contain_text("contact_name")

    # Both open it again and change the website; Bruno also the DPO, Alice also the trading name.
    page.goto(edit)
    other.goto(edit)
    other.get_by_label("Website", exact=True).fill("https://cloudy.example")
    other.get_by_label("DPO", exact=True).fill("Erik Holm")
    other.get_by_role("button", name="Save").click()
    expect(other.get_by_text("Saved Cloudy Inc.")).to_be_visible()
    page.get_by_label("Website", exact=True).fill("https://www.cloudy.example")
    page.get_by_label("Trading name", exact=True).fill("Cloudy")
    page.get_by_role("button", name="Save").click()

    clash = page.locator("#merge-website")
    expect(page.get_by_role("heading", name="Someone else saved this record while you were editing")).to_be_visible()
    expect(clash).to_contain_text("https://cloudy.example")
    expect(clash).to_contain_text("https://www.cloudy.example")
    expect(page.get_by_label("DPO", exact=True)).to_have_value("Erik Holm")  # Bruno's, in the form: no question
    expect(page.get_by_label("Trading name", exact=True)).to_have_value("Cloudy")  # hers, kept
    clash.get_by_label("Use mine").check()
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Saved Cloudy Inc.")).to_be_visible()
    for shown in ("https://www.cloudy.example", "Erik Holm", "Cloudy", "Dora Lindqvist", "SOC 2 report read"):
        expect(page.locator("main").get_by_text(shown, exact=True)).to_be_visible()
    page.get_by_role("link", name="Full history").click()
    expect(history_row(page, alice.email)).to_contain_text("website")
    expect(history_row(page, alice.email)).to_contain_text("trading_name")
    expect(history_row(page, alice.email)).not_to_contain_text("dpo_name")
    context.close()
