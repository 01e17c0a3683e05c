"""A person logs in with a real browser and sees the register; an auditor has no admin menu."""

from playwright.sync_api import expect

from register.models import Role


def test_an_admin_logs_in_sees_the_register_and_logs_out(page, make_user):
    user, password = make_user(Role.ADMIN)
    page.goto("/")
    expect(page).to_have_url("/login?next=%2F")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="The register")).to_be_visible()
    page.get_by_text("More").click()  # user management sits in the More menu
    expect(page.get_by_role("link", name="Users")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have been logged out.")).to_be_visible()


def test_a_wrong_password_shows_the_error_and_keeps_the_email(page, make_user):
    user, _ = make_user(Role.AUDITOR)
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("not my password at all")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Email or password is incorrect.")
    expect(page.get_by_label("Email")).to_have_value(user.email)


def test_an_auditor_sees_no_admin_menu(page, make_user):
    user, password = make_user(Role.AUDITOR)
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="The register")).to_be_visible()
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    assert page.goto("/admin/users/").status == 403
