"""The stock overview, the 재고 부족 list and their Excel downloads, as a seller sees them."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from catalog.models import Sku
from inventory.models import Location
from inventory.services import stock_receive, stock_reserve
from tests.catalog.factories import ProductFactory, SkuFactory, make_bundle
from tests.conftest import client_for, sheet_of
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db

STOCK_URL = reverse("inventory:stock_list")
LOW_URL = reverse("inventory:low_stock")


@pytest.fixture
def warehouse() -> Location:
    return LocationFactory.create(code="WH", name="파주 물류센터", priority=10)


@pytest.fixture
def store() -> Location:
    return LocationFactory.create(code="ST", name="성수 매장", priority=20)


def stocked(location: Location, quantity: int, **sku_fields: object) -> Sku:
    sku = SkuFactory.create(**sku_fields)
    if quantity:
        stock_receive(sku=sku, location=location, quantity=quantity)
    return sku


def row_of(html: str, code: str) -> str:
    match = re.search(rf'<tr data-sku="{re.escape(code)}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {code}"
    return match.group(1)


def states(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-sku="([^"]+)">.*?data-stock-state="(\w+)"', html, re.S))


def test_overview_shows_each_sku_per_location_with_available_and_badge(
    manager_user, warehouse, store
) -> None:
    knit = stocked(warehouse, 8, code="KNIT-BK-S", safety_stock=1, low_stock_threshold=5)
    stock_receive(sku=knit, location=store, quantity=2)
    stock_reserve(reference="orderline:1", lines=[(knit.pk, 3)])
    stocked(warehouse, 3, code="KNIT-IV-S", low_stock_threshold=5)
    stocked(warehouse, 0, code="KNIT-NV-S")

    response = client_for(manager_user).get(STOCK_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert states(html) == {"KNIT-BK-S": "ok", "KNIT-IV-S": "low", "KNIT-NV-S": "soldout"}
    cells = re.findall(r'<td class="num">\s*(?:<strong data-available>)?([\d,]+)', row_of(html, "KNIT-BK-S"))
    # per location (파주 8, 성수 2), on hand 10, reserved 3, safety 1, available 10-3-1=6, threshold 5
    assert cells == ["8", "2", "10", "3", "1", "6", "5"]
    assert "파주 물류센터" in html and "성수 매장" in html
    assert reverse("inventory:stock_receive", args=[knit.pk]) in html


def test_overview_hides_bundles_and_shows_no_write_links_to_staff(staff_user, warehouse) -> None:
    part = stocked(warehouse, 4, code="PART")
    make_bundle([(part, 2)], code="SET")
    html = client_for(staff_user).get(STOCK_URL).content.decode()
    assert 'data-sku="PART"' in html
    assert 'data-sku="SET"' not in html
    assert reverse("inventory:stock_receive", args=[part.pk]) not in html


def test_overview_filters_come_from_the_query_string(manager_user, warehouse) -> None:
    stocked(warehouse, 0, code="OUT-1", product=ProductFactory.create(brand="포근"))
    stocked(warehouse, 2, code="LOW-1", low_stock_threshold=2, product=ProductFactory.create(brand="포근"))
    stocked(warehouse, 9, code="OK-1", product=ProductFactory.create(brand="마롱"))
    client = client_for(manager_user)

    assert set(states(client.get(STOCK_URL, {"state": "soldout"}).content.decode())) == {"OUT-1"}
    assert set(states(client.get(STOCK_URL, {"state": "short"}).content.decode())) == {"OUT-1", "LOW-1"}
    assert set(states(client.get(STOCK_URL, {"brand": "포근", "state": "low"}).content.decode())) == {"LOW-1"}
    assert set(states(client.get(STOCK_URL, {"q": "ok-1"}).content.decode())) == {"OK-1"}
    assert set(states(client.get(STOCK_URL, {"location": warehouse.pk}).content.decode())) == {
        "LOW-1",
        "OK-1",
    }


def test_an_unknown_filter_value_is_reported_and_the_list_still_shows(manager_user, warehouse) -> None:
    stocked(warehouse, 1, code="A")
    response = client_for(manager_user).get(STOCK_URL, {"location": "999999", "state": "bogus"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="error"' in html
    assert 'data-sku="A"' in html


def test_htmx_filter_swaps_only_the_results(manager_user, warehouse) -> None:
    stocked(warehouse, 1, code="A")
    response = client_for(manager_user).get(STOCK_URL, {"q": "A"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results">')
    assert "<html" not in html


def test_overview_pages_by_keyset_without_gaps_or_repeats(manager_user, warehouse) -> None:
    for i in range(57):
        SkuFactory.create(code=f"K{i:03d}")
    client = client_for(manager_user)

    first = client.get(STOCK_URL)
    codes = list(states(first.content.decode()))
    assert len(codes) == 50
    assert 'data-total="57"' in first.content.decode()
    after = re.search(r'href="\?after=([^"]+)"', first.content.decode())
    assert after
    second = client.get(STOCK_URL, {"after": after.group(1)})
    more = list(states(second.content.decode()))
    assert codes + more == [f"K{i:03d}" for i in range(57)]


def test_excel_download_has_what_the_filters_show(manager_user, warehouse, store) -> None:
    knit = stocked(
        warehouse,
        6,
        code="KNIT-BK-S",
        low_stock_threshold=5,
        product=ProductFactory.create(code="P-KNIT", name="울 라운드 니트", brand="데일리핏"),
    )
    stock_receive(sku=knit, location=store, quantity=1)
    stock_reserve(reference="orderline:1", lines=[(knit.pk, 2)])
    stocked(warehouse, 50, code="OTHER")

    response = client_for(manager_user).get(STOCK_URL, {"state": "low", "format": "xlsx"})

    sheet = sheet_of(response)
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2  # header + the one low SKU
    header, row = rows
    assert row[:3] == ("KNIT-BK-S", "P-KNIT", "울 라운드 니트")
    assert row[5] == "데일리핏"
    # 파주 on hand / reserved, 성수 on hand / reserved, then totals
    assert row[7:11] == (6, 2, 1, 0)
    assert row[11:16] == (7, 2, 0, 5, 5)
    assert len(header) == 7 + 2 * 2 + 6


def test_excel_download_of_one_location_has_only_its_columns(manager_user, warehouse, store) -> None:
    stocked(warehouse, 3, code="A")
    response = client_for(manager_user).get(STOCK_URL, {"location": warehouse.pk, "format": "xlsx"})
    header = next(sheet_of(response).iter_rows(values_only=True))
    assert len(header) == 7 + 2 + 6
    assert any("파주 물류센터" in str(h) for h in header)
    assert not any("성수 매장" in str(h) for h in header)


def test_low_stock_page_lists_short_skus_emptiest_first(manager_user, warehouse) -> None:
    stocked(warehouse, 3, code="A-LOW", low_stock_threshold=5)
    stocked(warehouse, 0, code="B-OUT", low_stock_threshold=5)
    stocked(warehouse, 1, code="C-LOW", low_stock_threshold=5)
    stocked(warehouse, 9, code="D-OK", low_stock_threshold=5)
    stocked(warehouse, 0, code="E-OFF", is_active=False)
    client = client_for(manager_user)

    html = client.get(LOW_URL).content.decode()
    assert list(states(html)) == ["B-OUT", "C-LOW", "A-LOW"]

    assert list(states(client.get(LOW_URL, {"state": "soldout"}).content.decode())) == ["B-OUT"]
    assert list(states(client.get(LOW_URL, {"state": "low"}).content.decode())) == ["C-LOW", "A-LOW"]

    sheet = sheet_of(client.get(LOW_URL, {"format": "xlsx"}))
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["B-OUT", "C-LOW", "A-LOW"]


def test_low_stock_page_says_so_when_nothing_is_low(manager_user, warehouse) -> None:
    stocked(warehouse, 9, code="D-OK", low_stock_threshold=5)
    response = client_for(manager_user).get(LOW_URL)
    assert states(response.content.decode()) == {}
    assert 'class="empty"' in response.content.decode()


def test_low_stock_pages_follow_available_then_code_without_gaps(manager_user, warehouse) -> None:
    expected = []
    for i in range(56):
        quantity = i % 4  # 0 (sold out) .. 3, all at or below the threshold of 3
        stocked(warehouse, quantity, code=f"L{i:03d}", low_stock_threshold=3)
        expected.append((quantity, f"L{i:03d}"))
    client = client_for(manager_user)

    first = client.get(LOW_URL).content.decode()
    after = re.search(r'href="\?after=([^"]+)"', first)
    assert after
    second = client.get(LOW_URL, {"after": after.group(1)}).content.decode()
    before = re.search(r'href="\?before=([^"]+)"', second)
    assert before

    assert list(states(first)) + list(states(second)) == [code for _q, code in sorted(expected)]
    assert list(states(client.get(LOW_URL, {"before": before.group(1)}).content.decode())) == list(
        states(first)
    )
