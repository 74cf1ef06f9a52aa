"""Staff in headless Chromium: upload the password-protected SmartStore download, read the
preview, register the valid orders and find them in the order list."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.models import Marketplace
from oms.roles import Role
from orders.models import ImportBatch, Order
from tests.channels.factories import ChannelAccountFactory
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAMPLE = Path(__file__).parents[1] / "samples" / "smartstore_발송처리_sample.xlsx"


def test_staff_uploads_the_smartstore_sheet_previews_and_registers_it(
    page, live_server, make_user, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    make_user(Role.STAFF, username="packer")
    account = ChannelAccountFactory.create(name="니트샵 스마트스토어", marketplace=Marketplace.SMARTSTORE)
    base = live_server.url

    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "packer")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/orders/import/")
    form = page.locator("form[data-order-upload]")
    form.locator("select[name=account]").select_option(str(account.pk))
    form.locator("input[name=file]").set_input_files(str(SAMPLE))
    # First without the password: the form says the file is locked, and nothing is kept.
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".field.has-error")
    assert not ImportBatch.objects.exists()

    form = page.locator("form[data-order-upload]")
    form.locator("input[name=file]").set_input_files(str(SAMPLE))
    form.locator("input[name=password]").fill("sample1234")
    screenshot(page, "order-import-upload")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("[data-preview]")
    assert page.locator("[data-count=orders]").inner_text() == "12"
    assert page.locator("[data-count=new_orders]").inner_text() == "12"
    assert page.locator("[data-count=error_rows]").inner_text() == "0"
    assert not Order.objects.exists()
    screenshot(page, "order-import-preview")

    page.click("[data-register]")
    page.wait_for_selector("[data-result]")
    assert page.locator("[data-count=orders_created]").inner_text() == "12"
    assert page.locator("[data-batch-orders] tbody tr").count() == 12
    screenshot(page, "order-import-result")
    assert Order.objects.filter(account=account).count() == 12

    # "이 업로드의 주문 보기": the order list narrowed to this upload, the filter shown as a chip
    page.locator(".import-actions a.btn.primary").click()
    batch = ImportBatch.objects.get()
    page.wait_for_url(f"{base}/orders/?batch={batch.pk}")
    # A recipient from the sheet, now in the order list.
    page.locator("table").get_by_text("윤예준").first.wait_for()
    assert "smartstore_발송처리_sample.xlsx" in page.locator("[data-filter=batch]").inner_text()
    assert page.locator("table tbody tr[class^=status-]").count() == 21
    screenshot(page, "order-import-order-list")
    # Removing the chip shows every order again.
    page.locator("[data-filter=batch] a").click()
    page.wait_for_url(f"{base}/orders/")
    assert page.locator("[data-filter=batch]").count() == 0
