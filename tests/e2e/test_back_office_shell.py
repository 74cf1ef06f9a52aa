"""A seller's administrator, in headless Chromium: log in, add a packer, switch them off,
read it back in the audit log, switch the language, log out."""

from __future__ import annotations

import pytest

from oms.models import AuditLog, User
from oms.roles import Role
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_manages_a_user_through_the_shell(page, live_server, make_user) -> None:
    make_user(Role.ADMIN, username="owner", last_name="김", first_name="사장")
    base = live_server.url

    page.goto(f"{base}/")
    assert "/login/" in page.url
    page.fill("input[name=username]", "owner")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert page.locator("h1").inner_text() == "대시보드"
    assert page.locator("nav.sidebar").inner_text().count("설정") == 1
    screenshot(page, "dashboard")

    page.click("nav.sidebar >> text=설정")
    page.click("text=사용자 및 권한")
    page.click("text=새 사용자")
    page.fill("input[name=username]", "packer7")
    page.fill("input[name=last_name]", "정")
    page.fill("input[name=first_name]", "포장")
    page.select_option("select[name=role]", "STAFF")
    page.fill("input[name=password1]", "Knit-Sweater-5544")
    page.fill("input[name=password2]", "Knit-Sweater-5544")
    page.click("form.form-card button[type=submit]")
    page.wait_for_selector("text=packer7")
    assert "packer7" in page.locator("table").inner_text()

    # Bulk bar: check the new user's row and deactivate (confirm dialog accepted).
    packer = User.objects.get(username="packer7")
    page.check(f"input[name=ids][value='{packer.pk}']")
    assert page.locator("[data-bulk-count]").inner_text() == "1"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-bulk-bar] button.danger")
    page.wait_for_selector(".flash.success")
    screenshot(page, "users")
    packer.refresh_from_db()
    assert not packer.is_active
    assert Role.for_user(packer) is Role.STAFF

    page.goto(f"{base}/settings/audit/")
    table = page.locator("table").inner_text()
    assert "user.create" in table and "user.deactivate" in table
    assert AuditLog.objects.filter(actor__username="owner").count() == 2
    screenshot(page, "audit")

    page.select_option("select[name=language]", "en")
    page.wait_for_selector("h1:has-text('Audit log')")

    page.click("details.user-menu summary")
    page.click("text=Log out")
    page.wait_for_url("**/login/")


def test_staff_sees_no_user_management(page, live_server, make_user) -> None:
    make_user(Role.STAFF, username="packer")
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "packer")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/settings/")
    assert "사용자 및 권한" not in page.content()
    response = page.goto(f"{live_server.url}/settings/users/")
    assert response is not None and response.status == 403
    assert "권한 없음" in page.content()
