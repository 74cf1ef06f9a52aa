"""A manager, in headless Chromium: upload a product sheet with one bad row, see the preview
refuse it (nothing written), fix the sheet, upload again, apply, and find the products."""

from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter

from catalog.models import Product, Sku
from oms.models import ImportSession
from oms.roles import Role
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HEADERS = [
    "상품코드",
    "상품명",
    "브랜드",
    "카테고리",
    "옵션명",
    "SKU코드",
    "바코드",
    "판매가",
    "원가",
    "안전재고",
    "품절기준수량",
    "메모",
]


def _sheet(path: Path, price_of_l: object) -> str:
    product = ["LINEN-1", "린넨 셔츠", "데모브랜드", "의류>셔츠"]
    rows = [
        [*product, "화이트 / M", "LINEN-1-WH-M", "8800000000011", 49000, 21000, 1, 2, "봄 신상"],
        [*product, "화이트 / L", "LINEN-1-WH-L", "8800000000012", price_of_l, 21000, 1, 2, ""],
        [*product, "블루 / M", "LINEN-1-BL-M", "8800000000013", 49000, 21000, 1, 2, ""],
    ]
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("상품")
    ws.write_row(0, 0, HEADERS)
    for r, row in enumerate(rows, start=1):
        ws.write_row(r, 0, row)
    book.close()
    return str(path)


def test_manager_fixes_a_bad_sheet_and_applies_it(page, live_server, make_user, tmp_path: Path) -> None:
    make_user(Role.MANAGER, username="seller", last_name="이", first_name="운영")
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "seller")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    # 1. A sheet whose second product row has a price in words.
    page.goto(f"{base}/products/import/")
    page.set_input_files("input[type=file]", _sheet(tmp_path / "bad.xlsx", "사만구천원"))
    page.click(".import-form button[type=submit]")
    page.wait_for_selector(".import-rows")
    screenshot(page, "product_import_bad_preview")
    assert page.locator(".import-count.bad strong").inner_text() == "1"
    error_row = page.locator(".import-rows tr.st-error")
    assert error_row.count() == 1
    assert error_row.locator("td.num").inner_text() == "3"
    assert "판매가" in error_row.inner_text() and "사만구천원" in error_row.inner_text()
    assert page.locator("[data-import-commit]").count() == 0  # all or nothing: no apply button
    assert not Product.objects.exists()

    # 2. The fixed sheet previews clean and applies.
    page.goto(f"{base}/products/import/")
    page.set_input_files("input[type=file]", _sheet(tmp_path / "fixed.xlsx", 49000))
    page.click(".import-form button[type=submit]")
    page.wait_for_selector("[data-import-commit]")
    assert page.locator(".import-count.ok strong").inner_text() == "3"
    assert page.locator(".import-count.bad strong").inner_text() == "0"
    screenshot(page, "product_import_preview")
    page.click("[data-import-commit]")
    page.wait_for_selector(".import-done")
    screenshot(page, "product_import_applied")
    assert set(Sku.objects.values_list("code", flat=True)) == {"LINEN-1-WH-M", "LINEN-1-WH-L", "LINEN-1-BL-M"}
    assert ImportSession.objects.filter(status=ImportSession.Status.COMMITTED).count() == 1

    # 3. The products are in the catalogue.
    page.click(".import-actions a.btn.primary")
    page.wait_for_load_state()
    assert "린넨 셔츠" in page.content()
    screenshot(page, "product_list_after_import")
