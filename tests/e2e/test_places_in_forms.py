"""An editor records a region and uses it in the forms, as a legal reader would from a vendor's list that
says "Asia-Pacific"; every surface then names the region, never its code or one of its countries."""

import re

from playwright.sync_api import expect

from register import services
from register.models import GroupEntity, Role, ThirdParty

from test_editing import choose_party, log_in


def test_a_region_chosen_in_the_forms_is_named_on_the_route_the_list_filter_and_the_processor_list(page, make_user, writer):
    writer(lambda: services.create(GroupEntity, {"legal_name": "Meridian Assist SA", "country_code": "FR", "is_controller": True}))
    writer(lambda: services.create(ThirdParty, {"legal_name": "Helpdesk Pte Ltd", "country_code": "SG"}))
    editor, password = make_user(Role.EDITOR)
    log_in(page, editor.email, password)

    page.goto("/regions/new")
    page.locator("#code").fill("APAC")
    page.locator("#name").fill("Asia-Pacific")
    page.locator("#country_codes").select_option(["AU", "NZ", "SG"])
    page.get_by_role("button", name="Create region").click()
    expect(page.get_by_text("Created Asia-Pacific (APAC).")).to_be_visible()

    page.goto("/engagements/new")
    choose_party(page, "engager_id", "Meridian")
    choose_party(page, "engaged_id", "Helpdesk")
    page.get_by_label("Service").fill("Customer support")
    page.get_by_label("Relationship").select_option("processor")
    page.locator("#locations").select_option(label="Asia-Pacific (region, 3 countries)")
    page.get_by_role("button", name="Create engagement").click()
    expect(page.get_by_text("Created Meridian Assist SA")).to_be_visible()

    page.goto("/routes/new")
    choose_party(page, "exporter_id", "Meridian")
    choose_party(page, "importer_id", "Helpdesk")
    page.locator("#destination").select_option(label="Asia-Pacific (region, 3 countries)")
    page.get_by_role("button", name="Create transfer route").click()
    expect(page.get_by_text("Created Meridian Assist SA")).to_be_visible()
    # Australia decides it under the EU regime (no adequacy, no tool): a gap, and the reasons say why.
    verdict = page.locator("#coverage")
    expect(verdict).to_contain_text("Asia-Pacific (region)")
    expect(verdict).to_contain_text("gap")
    expect(page.get_by_text("destination Asia-Pacific")).to_be_visible()

    page.goto("/routes/")
    page.locator("select[name=country]").select_option(label="Asia-Pacific (region, 3 countries)")
    page.locator("select[name=country]").evaluate("select => select.form.requestSubmit()")
    expect(page).to_have_url(re.compile(r"country=APAC"))
    row = page.get_by_role("row").filter(has_text="Helpdesk Pte Ltd")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Asia-Pacific")

    page.goto("/processors")
    row = page.get_by_role("row").filter(has_text="Helpdesk Pte Ltd")
    expect(row).to_contain_text("Asia-Pacific")
    expect(row).not_to_contain_text("Singapore")
