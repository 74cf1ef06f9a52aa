"""A seller's manager, in headless Chromium: create a knit with a 2x2 option matrix, change one
option's extra price in place on the product page, then raise every price by 10% from the
product list."""

from __future__ import annotations

import re

import pytest

from catalog.models import Product, Sku, SkuChange
from oms.models import AuditLog
from oms.roles import Role
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_creates_a_2x2_product_edits_a_sku_in_place_and_raises_prices(
    page, live_server, make_user
) -> None:
    make_user(Role.MANAGER, username="seller")
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "seller")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    # 1. New product: 색상 [블랙, 아이보리] x 사이즈 [S, M], previewed, one code changed, saved.
    page.click("nav.sidebar >> text=상품")
    page.click("a[href='/products/new/']")
    page.fill("input[name=code]", "KN-26")
    page.fill("input[name=name]", "울 라운드 니트")
    page.fill("input[name=sale_price]", "39000")
    page.fill("input[name=option_1_name]", "색상")
    page.fill("input[name=option_1_values]", "블랙, 아이보리")
    page.fill("input[name=option_2_name]", "사이즈")
    page.fill("input[name=option_2_values]", "S, M")
    page.click("button[name=action][value=preview]")
    page.wait_for_selector("#matrix")
    codes = [page.input_value(f"input[name=sku-{i}-code]") for i in range(4)]
    assert codes == ["KN-26-BK-S", "KN-26-BK-M", "KN-26-IV-S", "KN-26-IV-M"]
    page.fill("input[name=sku-3-code]", "KN-26-IVORY-M")
    screenshot(page, "catalog-option-matrix")
    page.click("button[name=action][value=save]")
    page.wait_for_url(re.compile(r".*/products/\d+/$"))
    product = Product.objects.get(code="KN-26")
    assert sorted(product.skus.values_list("code", flat=True)) == sorted([*codes[:3], "KN-26-IVORY-M"])

    # 2. In place: 블랙 / M costs 2,000 more. Saved by htmx: the row comes back marked, the page stays.
    sku = Sku.objects.get(code="KN-26-BK-M")
    row = page.locator(f"#sku-{sku.pk}")
    row.locator(f"input[name=sku-{sku.pk}-extra_price]").fill("2000")
    row.locator("button[type=submit]").click()
    page.wait_for_selector(f"#sku-{sku.pk}.saved")
    assert "41,000" in page.locator(f"#sku-{sku.pk}").inner_text()
    assert page.url.endswith(f"/products/{product.pk}/")
    sku.refresh_from_db()
    assert sku.price == 41000
    assert AuditLog.objects.filter(
        action="sku.update", object_id=str(sku.pk), actor__username="seller"
    ).exists()
    # A refused value is shown in the row and not saved.
    row.locator(f"input[name=sku-{sku.pk}-extra_price]").fill("-50000")
    row.locator("button[type=submit]").click()
    page.wait_for_selector(f"#sku-{sku.pk}.has-error")
    assert "0보다 작" in page.locator(f"#sku-{sku.pk} .error").inner_text()
    screenshot(page, "catalog-product-page")
    sku.refresh_from_db()
    assert sku.price == 41000

    # 3. Product list: select the page, raise prices by 10%, check the preview, apply.
    page.goto(f"{base}/products/?q=KN-26")
    page.check("[data-select-page]")
    assert page.locator("[data-bulk-count]").inner_text() == "4"
    page.select_option("select[name=bulk-price_mode]", "percent_up")
    page.fill("input[name=bulk-price_amount]", "10")
    page.click("button[name=bulk-action][value=price]")
    page.wait_for_selector("[data-testid=apply]")
    preview = page.locator("table.bulk-changes").inner_text()
    assert "39,000" in preview and "42,900" in preview and "45,100" in preview
    screenshot(page, "catalog-bulk-preview")
    page.click("[data-testid=apply]")
    page.wait_for_selector(".flash.success")
    screenshot(page, "catalog-product-list")

    product.refresh_from_db()
    assert product.sale_price == 42900
    assert sorted(s.price for s in product.skus.all()) == [42900, 42900, 42900, 45100]
    assert SkuChange.objects.filter(sku__product=product).count() == 4
    assert AuditLog.objects.filter(action="sku.bulk_price", actor__username="seller").count() == 4
