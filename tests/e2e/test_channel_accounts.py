"""An administrator connects a marketplace account in headless Chromium: picks the marketplace,
enters the credentials the adapter asks for, sees them masked (설정됨 ····1234) and never again
in full, and runs 연결 테스트 against a fake marketplace over real HTTP.

The adapter is a tiny test adapter (tests/channels/fakeshop.py) registered only for this test,
so the test does not depend on the real marketplace adapters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation

from channels.crypto import decrypt_credentials
from channels.models import ChannelAccount, SyncJob
from channels.registry import adapters
from oms.roles import Role
from tests.channels.conftest import FAKE_ADAPTERS
from tests.channels.fakeshop import SHOP_CODE, FakeShop
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake_shop(settings) -> Iterator[FakeShop]:
    # The live server runs in this process: the override reaches it (the registry caches).
    settings.OMS_CHANNEL_ADAPTERS = FAKE_ADAPTERS
    adapters.cache_clear()
    shop = FakeShop()
    shop.start()
    yield shop
    shop.stop()
    adapters.cache_clear()


def test_admin_connects_an_account_and_tests_the_connection(page, live_server, make_user, fake_shop):
    make_user(Role.ADMIN, username="owner")
    base = live_server.url
    secret = fake_shop.client_secret
    with translation.override("ko"):
        configured = translation.gettext("Configured")  # 설정됨 once the catalog has it

    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "owner")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.click("nav.sidebar a[href='/channels/']")
    page.click("a.btn.primary[href='/channels/new/']")
    page.click(f"a.marketplace-card[href='?marketplace={SHOP_CODE}']")
    page.fill("input[name=name]", "쇼핑몰 본점")
    page.fill("input[name=base_url]", fake_shop.base_url)
    page.fill("input[name=cred_client_id]", fake_shop.client_id)
    page.fill("input[name=cred_client_secret]", secret)
    page.fill("input[name=stock_keep_back]", "2")
    page.click("form.account-form button[type=submit]")

    account = ChannelAccount.objects.get(name="쇼핑몰 본점")
    page.wait_for_url(f"{base}/channels/{account.pk}/")
    assert decrypt_credentials(account.credentials_encrypted)["client_secret"] == secret
    assert secret not in account.credentials_encrypted
    card = page.locator(".card", has=page.locator("h2")).first.inner_text()
    assert f"····{secret[-4:]}" in card and configured in card
    assert secret not in page.content()

    page.click("[data-test-connection]")
    page.wait_for_selector("#auth-result.succeeded")
    assert "테스트 상점 (basic)" in page.locator("#auth-result").inner_text()
    screenshot(page, "channel_account")
    job = SyncJob.objects.get(account=account)
    assert (job.kind, job.status) == ("auth_check", "succeeded")
    assert [r.path for r in fake_shop.requests] == ["/oauth/token", "/v1/me"]
    assert page.locator(f"#recent-jobs tr[data-job='{job.pk}']").count() == 1  # swapped in out of band

    # The edit form never shows the secret: an empty input and the masked hint; saving it
    # empty keeps the secret.
    page.goto(f"{base}/channels/{account.pk}/edit/")
    assert page.input_value("input[name=cred_client_secret]") == ""
    assert f"····{secret[-4:]}" in page.locator(".credentials-card").inner_text()
    assert secret not in page.content()
    page.fill("input[name=collect_interval_minutes]", "15")
    page.click("form.account-form button[type=submit]")
    page.wait_for_url(f"{base}/channels/{account.pk}/")
    account.refresh_from_db()
    assert account.collect_interval_minutes == 15
    assert decrypt_credentials(account.credentials_encrypted)["client_secret"] == secret

    # A wrong secret: the test fails with the marketplace's reason and the account turns to error.
    page.goto(f"{base}/channels/{account.pk}/edit/")
    page.fill("input[name=cred_client_secret]", "sk_wrong_000000000000")
    page.click("form.account-form button[type=submit]")
    page.wait_for_url(f"{base}/channels/{account.pk}/")
    page.click("[data-test-connection]")
    page.wait_for_selector("#auth-result.failed")
    assert "invalid client credentials" in page.locator("#auth-result").inner_text()
    account.refresh_from_db()
    assert account.status == "error"
    page.goto(f"{base}/channels/")
    assert "invalid client credentials" in page.locator("table").inner_text()
    screenshot(page, "channel_accounts_error")
    assert "sk_wrong_000000000000" not in page.content()
