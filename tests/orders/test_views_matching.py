"""The 매칭 and 재고 부족 pages through Django's full request path."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from channels.models import OptionMapping, OptionMappingItem
from inventory.models import StockLevel
from inventory.services import stock_receive
from oms.models import AuditLog
from oms.roles import Role
from orders.ingest import orders_ingest
from orders.models import LineSku, OrderEvent, OrderLine
from orders.selectors_matching import unmapped_group_list, unmapped_groups
from tests.catalog.factories import SkuFactory, make_bundle
from tests.channels.factories import ChannelAccountFactory
from tests.conftest import client_for, sheet_of
from tests.inventory.factories import LocationFactory
from tests.orders.builders import channel_line, channel_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def shop(make_user):
    class Shop:
        account = ChannelAccountFactory.create(name="니트샵")
        warehouse = LocationFactory.create()
        sweater = SkuFactory.create(code="KNIT-BK-S", option_label="블랙 / S", product__name="울 라운드 니트")
        manager = make_user(Role.MANAGER)
        staff = make_user(Role.STAFF)

    stock_receive(sku=Shop.sweater, location=Shop.warehouse, quantity=1)
    orders_ingest(
        account=Shop.account,
        orders=[channel_order(channel_line(option="블랙 / S"), minutes_ago=60 - i) for i in range(2)],
    )
    return Shop


def english(user):
    """A client that reads the pages in English (the language switcher's cookie), so the
    assertions read the msgids whatever the Korean catalog says."""
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def group_of(shop):
    (group,) = unmapped_groups(unmapped_group_list(filters={"account": shop.account}))
    return group


def save_data(shop, *rows, **extra):
    data = {
        "account": shop.account.pk,
        "channel_product_id": "P100",
        "option_key": "블랙 / S",
        "product_name": "울 라운드 니트",
        "option_text": "블랙 / S",
        "fixed": "True",
        "sku": [code for code, _q in rows],
        "quantity": [q for _c, q in rows],
    }
    data.update(extra)
    return data


def test_the_matching_page_lists_groups_with_counts_and_an_editor_link(shop) -> None:
    response = client_for(shop.manager).get(reverse("orders:matching"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "블랙 / S" in body and "니트샵" in body
    group = group_of(shop)
    assert f'id="{group.dom_id}"' in body
    assert "orders/matching/auto/" in body  # the bulk auto-match button
    rows = response.context["groups"]
    assert [(g.lines, g.quantity) for g in rows] == [(2, 2)]


def test_the_matching_page_filters_by_search_and_renders_the_results_fragment_for_htmx(shop) -> None:
    client = english(shop.manager)
    response = client.get(
        reverse("orders:matching"), {"q": "네이비"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and "블랙 / S" not in body
    assert "No waiting option matches these filters." in body
    found = client.get(reverse("orders:matching"), {"q": "블랙", "account": shop.account.pk})
    assert [g.key for g in found.context["groups"]] == ["블랙 / S"]


def test_the_editor_shows_the_waiting_lines_of_the_group(shop) -> None:
    group = group_of(shop)
    response = client_for(shop.manager).get(
        reverse("orders:matching_edit"),
        {"account": shop.account.pk, "product": "P100", "key": group.key, "dom_id": group.dom_id},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-waiting-count="2"' in body
    assert body.count('<tr><td class="nowrap">') == 2  # the two waiting lines
    assert f'hx-target="#{group.dom_id}"' in body and "<html" not in body


def test_sku_search_finds_active_skus_by_code_name_or_barcode_with_their_available_stock(shop) -> None:
    SkuFactory.create(code="KNIT-OLD", is_active=False, product__name="울 라운드 니트 구형")
    client = client_for(shop.staff)
    url = reverse("orders:matching_sku_search")

    by_name = client.get(url, {"sku": "라운드 니트"}).content.decode()
    by_barcode = client.get(url, {"q": shop.sweater.barcode}).content.decode()

    assert re.findall(r'data-code="([^"]+)"', by_name) == ["KNIT-BK-S"]
    assert "available 1" in by_name
    assert re.findall(r'data-code="([^"]+)"', by_barcode) == ["KNIT-BK-S"]
    assert client.get(url, {"sku": ""}).content.strip() == b""


def test_saving_inline_maps_the_lines_and_answers_with_the_counts(shop) -> None:
    group = group_of(shop)
    response = english(shop.manager).post(
        reverse("orders:matching_save"),
        save_data(shop, ("KNIT-BK-S", "1"), ("", ""), dom_id=group.dom_id),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="{group.dom_id}"' in body and "KNIT-BK-S" in body
    assert "Lines mapped: 2 · stock reserved: 1 · short of stock: 1." in body
    assert not OrderLine.objects.filter(unmapped=True).exists()
    assert OrderLine.objects.filter(backorder=True).count() == 1  # one sweater for two orders
    assert StockLevel.objects.get(sku=shop.sweater).reserved == 1


def test_saving_without_htmx_redirects_with_a_message(shop) -> None:
    response = english(shop.manager).post(
        reverse("orders:matching_save"), save_data(shop, ("KNIT-BK-S", "1")), follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("orders:matching")
    texts = [str(m) for m in response.context["messages"]]
    assert "Lines mapped: 2 · stock reserved: 1 · short of stock: 1." in texts[0]
    assert OptionMapping.objects.count() == 1


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ((("KNIT-BK-S", "0"),), "Row 1"),
        ((("KNIT-BK-S", "abc"),), "Row 1"),
        ((("KNIT-BK-S", ""),), "Row 1"),
        ((("", ""), ("NO-SUCH", "1")), "Row 2"),
        ((("", "2"),), "at least one SKU"),
        ((("", ""),), "at least one SKU"),
        ((("RETIRED", "1"),), "inactive"),
    ],
    ids=["zero", "text", "no-quantity", "unknown", "no-code", "empty", "inactive"],
)
def test_bad_rows_are_refused_with_the_row_and_nothing_is_written(shop, rows, error) -> None:
    SkuFactory.create(code="RETIRED", is_active=False)
    group = group_of(shop)
    response = english(shop.manager).post(
        reverse("orders:matching_save"), save_data(shop, *rows, dom_id=group.dom_id), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#editor-{group.dom_id}"
    assert error in response.content.decode()
    assert not OptionMapping.objects.exists() and not LineSku.objects.exists()
    assert OrderLine.objects.filter(unmapped=True).count() == 2
    assert not OrderEvent.objects.filter(type=OrderEvent.Type.MAPPED).exists()


def test_a_refused_save_without_htmx_shows_the_editor_again_with_the_typed_rows(shop) -> None:
    response = client_for(shop.manager).post(
        reverse("orders:matching_save"), save_data(shop, ("KNIT-BK-S", "2"), ("NOPE", "1"))
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'value="NOPE"' in body and 'value="KNIT-BK-S"' in body
    assert not OptionMapping.objects.exists()


def test_staff_may_look_but_not_save(shop) -> None:
    client = client_for(shop.staff)
    page = client.get(reverse("orders:matching"))
    assert page.status_code == 200
    assert "orders/matching/auto/" not in page.content.decode()
    group = group_of(shop)
    editor = client.get(
        reverse("orders:matching_edit"), {"account": shop.account.pk, "product": "P100", "key": group.key}
    )
    assert editor.status_code == 200 and b"disabled" in editor.content
    assert (
        client.post(reverse("orders:matching_save"), save_data(shop, ("KNIT-BK-S", "1"))).status_code == 403
    )
    assert client.post(reverse("orders:matching_auto")).status_code == 403
    assert client.post(reverse("orders:backorders_reassign")).status_code == 403
    assert not OptionMapping.objects.exists()


def test_a_new_mapping_can_be_typed_in_for_orders_still_to_come(shop) -> None:
    data = {
        "account": shop.account.pk,
        "channel_product_id": "P900",
        "product_name": "캐시미어 머플러",
        "option_text": "  차콜  ",
        "sku": ["KNIT-BK-S"],
        "quantity": ["1"],
    }
    response = client_for(shop.manager).post(reverse("orders:matching_save"), data)
    assert response.status_code == 302
    mapping = OptionMapping.objects.get()
    assert (mapping.channel_product_id, mapping.option_key, mapping.option_text) == ("P900", "차콜", "차콜")
    result = orders_ingest(
        account=shop.account, orders=[channel_order(channel_line(product_id="P900", option="차콜"))]
    )
    assert result.unmapped == 0


def test_the_auto_match_button_maps_and_reports(shop) -> None:
    orders_ingest(
        account=shop.account, orders=[channel_order(channel_line(option="KNIT-BK-S", product_id="P2"))]
    )
    response = client_for(shop.manager).post(reverse("orders:matching_auto"), follow=True)
    assert response.status_code == 200
    assert OptionMapping.objects.filter(channel_product_id="P2").exists()
    assert OrderLine.objects.filter(unmapped=True).count() == 2  # the 블랙 / S group names no SKU
    assert AuditLog.objects.filter(action="orders.auto_match", actor=shop.manager).exists()


def test_saved_mappings_list_edit_and_delete(shop) -> None:
    client = client_for(shop.manager)
    client.post(reverse("orders:matching_save"), save_data(shop, ("KNIT-BK-S", "1")))
    mapping = OptionMapping.objects.get()

    listing = client.get(reverse("orders:matching_mappings"), {"q": "KNIT-BK"})
    assert [m.pk for m in listing.context["mappings"]] == [mapping.pk]
    edit = client.get(reverse("orders:matching_edit"), {"mapping": mapping.pk})
    assert edit.status_code == 200 and 'value="KNIT-BK-S"' in edit.content.decode()
    sheet = sheet_of(client.get(reverse("orders:matching_mappings"), {"format": "xlsx"}))
    assert sheet.cell(row=2, column=6).value == "KNIT-BK-S"

    deleted = client.post(reverse("orders:matching_mapping_delete", args=[mapping.pk]))
    assert deleted.status_code == 302
    assert not OptionMapping.objects.exists()
    assert LineSku.objects.count() == 2  # mapped orders keep their SKUs
    assert client.get(reverse("orders:matching_edit"), {"mapping": mapping.pk}).status_code == 404


def test_the_backorders_page_shows_shortages_and_reassign_fills_oldest_first(shop) -> None:
    client = client_for(shop.manager)
    client.post(reverse("orders:matching_save"), save_data(shop, ("KNIT-BK-S", "1")))
    newest = OrderLine.objects.get(backorder=True)

    page = client.get(reverse("orders:backorders"))
    assert page.status_code == 200
    (row,) = page.context["rows"]
    assert row.line == newest and row.needs[0].short == 1
    assert page.context["preview"].would_reserve == 0

    stock_receive(sku=shop.sweater, location=shop.warehouse, quantity=1)
    assert client.get(reverse("orders:backorders")).context["preview"].would_reserve == 1
    response = client.post(reverse("orders:backorders_reassign"), follow=True)
    assert response.status_code == 200
    newest.refresh_from_db()
    assert not newest.backorder
    assert StockLevel.objects.get(sku=shop.sweater).reserved == 2
    assert list(response.context["rows"]) == []


def test_the_backorders_excel_lists_each_sku_shortage(shop) -> None:
    client = client_for(shop.manager)
    scarf = SkuFactory.create(code="SCARF")
    make_bundle([(scarf, 1)], code="SET-1")
    client.post(reverse("orders:matching_save"), save_data(shop, ("KNIT-BK-S", "1"), ("SCARF", "2")))
    sheet = sheet_of(client.get(reverse("orders:backorders"), {"format": "xlsx"}))
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert {(v[8], v[9], v[11]) for v in values} == {("KNIT-BK-S", 1, 0), ("SCARF", 2, 2)}
    assert OptionMappingItem.objects.count() == 2
