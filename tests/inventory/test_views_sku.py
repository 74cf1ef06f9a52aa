"""A SKU's stock page: levels, the ledger newest first, and the 입고 / 조정 / 이동 / 실사 forms,
which refuse bad input with a reason and write nothing."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from catalog.models import Sku
from inventory import views as inventory_views
from inventory.models import Location, StockLevel, StockMovement
from inventory.services import stock_adjust, stock_receive, stock_reserve
from tests.catalog.factories import SkuFactory, make_bundle
from tests.conftest import client_for, sheet_of
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def warehouse() -> Location:
    return LocationFactory.create(code="WH", name="파주 물류센터", priority=10)


@pytest.fixture
def store() -> Location:
    return LocationFactory.create(code="ST", name="성수 매장", priority=20)


@pytest.fixture
def sku(warehouse) -> Sku:
    return SkuFactory.create(code="KNIT-BK-S", low_stock_threshold=5, safety_stock=1)


def page_url(sku: Sku) -> str:
    return reverse("inventory:sku_stock", args=[sku.pk])


def action_url(action: str, sku: Sku) -> str:
    return reverse(f"inventory:stock_{action}", args=[sku.pk])


def on_hand(sku: Sku, location: Location) -> int:
    level = StockLevel.objects.filter(sku=sku, location=location).first()
    return level.on_hand if level else 0


def ledger_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-movement="(\d+)"', html)]


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- The page ------------------------------------------------------------------------------------


def test_sku_page_shows_levels_available_badge_and_ledger(manager_user, warehouse, store, sku) -> None:
    stock_receive(
        sku=sku,
        location=warehouse,
        quantity=10,
        reason="초도 입고",
        reference="PO-2026-001",
        actor=manager_user,
    )
    stock_receive(sku=sku, location=store, quantity=2)
    stock_reserve(reference="orderline:77", lines=[(sku.pk, 4)])

    html = client_for(manager_user).get(page_url(sku)).content.decode()

    assert re.search(r"data-available>7<", html)  # 12 on hand - 4 reserved - 1 safety
    assert 'data-stock-state="ok"' in html
    assert re.search(r'<tr data-location="WH">.*?>10<.*?>4<.*?>6<', html, re.S)
    assert re.search(r'<tr data-location="ST">.*?>2<.*?>0<.*?>2<', html, re.S)
    assert "초도 입고" in html and "PO-2026-001" in html
    assert manager_user.display_name in html


def test_ledger_is_newest_first_and_keyset_paged(manager_user, warehouse, sku) -> None:
    for i in range(1, 56):
        stock_receive(sku=sku, location=warehouse, quantity=1, reason=f"입고 {i}")
    ids = list(StockMovement.objects.filter(sku=sku).order_by("-pk").values_list("pk", flat=True))
    client = client_for(manager_user)

    first = client.get(page_url(sku)).content.decode()
    assert ledger_ids(first) == ids[:50]
    after = re.search(r'href="\?after=([^"]+)"', first)
    assert after
    second = client.get(page_url(sku), {"after": after.group(1)}).content.decode()
    assert ledger_ids(second) == ids[50:]


def test_ledger_filters_by_type_and_location(manager_user, warehouse, store, sku) -> None:
    stock_receive(sku=sku, location=warehouse, quantity=5)
    stock_receive(sku=sku, location=store, quantity=5)
    adjust = stock_adjust(sku=sku, location=store, delta=-1, reason="파손")
    client = client_for(manager_user)
    html = client.get(page_url(sku), {"type": "adjust"}).content.decode()
    assert ledger_ids(html) == [adjust.pk]
    html = client.get(page_url(sku), {"location": store.pk}).content.decode()
    assert len(ledger_ids(html)) == 2
    fragment = client.get(
        page_url(sku), {"type": "adjust"}, headers={"HX-Request": "true", "HX-Target": "ledger"}
    )
    assert fragment.content.decode().lstrip().startswith('<div id="ledger">')


def test_ledger_excel_download_has_the_filtered_rows_newest_first(
    manager_user, warehouse, store, sku
) -> None:
    stock_receive(sku=sku, location=warehouse, quantity=5, reference="PO-1", actor=manager_user)
    stock_receive(sku=sku, location=store, quantity=2)
    stock_adjust(sku=sku, location=warehouse, delta=-1, reason="파손", actor=manager_user)

    response = client_for(manager_user).get(page_url(sku), {"location": warehouse.pk, "format": "xlsx"})

    rows = list(sheet_of(response).iter_rows(min_row=2, values_only=True))
    assert [(r[2], r[3], r[5], r[7], r[8], r[9]) for r in rows] == [
        ("파주 물류센터", -1, 4, "파손", None, manager_user.display_name),
        ("파주 물류센터", 5, 5, None, "PO-1", manager_user.display_name),
    ]
    assert "KNIT-BK-S" in response["Content-Disposition"]


def test_ledger_row_shows_type_changes_after_values_reason_reference_and_user(
    admin_user, warehouse, sku
) -> None:
    stock_receive(sku=sku, location=warehouse, quantity=6, actor=admin_user)
    stock_reserve(reference="orderline:31", lines=[(sku.pk, 2)], actor=admin_user)
    html = client_for(admin_user).get(page_url(sku)).content.decode()
    reserve_row = re.search(r'<tr data-movement="\d+" data-type="reserve">(.*?)</tr>', html, re.S)
    assert reserve_row
    cells = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", reserve_row.group(1), re.S)
    ]
    # time, type, location, on-hand / reserved change, on hand / reserved after, reason, reference, user
    assert cells[2:7] == ["파주 물류센터", "0", "+2", "6", "2"]
    assert "31" in cells[8]
    assert cells[9] == admin_user.display_name
    # an administrator can open the person behind the row
    assert reverse("user_edit", args=[admin_user.pk]) in reserve_row.group(1)


def order_line() -> tuple[int, int]:
    """(line id, order id) of a stored order line."""
    from channels.models import ChannelAccount, Marketplace
    from orders.models import Order, OrderLine

    account = ChannelAccount.objects.create(marketplace=Marketplace.SMARTSTORE, name="스마트스토어 본점")
    order = Order.objects.create(account=account, external_order_id="2026112512345")
    line = OrderLine.objects.create(
        order=order, account=account, external_line_id="L1", product_name="울 라운드 니트", quantity=1
    )
    return line.pk, order.pk


def test_order_line_reference_links_to_the_line_on_its_order_page(manager_user, warehouse, sku) -> None:
    line_id, order_id = order_line()
    stock_receive(sku=sku, location=warehouse, quantity=3)
    stock_reserve(reference=f"orderline:{line_id}", lines=[(sku.pk, 1)])
    target = f"{reverse('orders:order_detail', args=[order_id])}#line-{line_id}"

    assert f'href="{target}"' in client_for(manager_user).get(page_url(sku)).content.decode()


def test_order_line_reference_is_text_for_a_user_who_may_not_see_orders(warehouse, sku) -> None:
    from oms.models import User

    line_id, _order_id = order_line()
    nobody = User.objects.create_user(username="norole", password="x-very-long-pass")
    refs = inventory_views.ledger_references([f"orderline:{line_id}"], user=nobody)
    assert refs[f"orderline:{line_id}"].url is None


def test_a_reference_to_a_missing_line_or_page_shows_as_text(manager_user, monkeypatch) -> None:
    refs = inventory_views.ledger_references(["orderline:999999", "claim:4"], user=manager_user)
    assert refs["orderline:999999"].url is None
    assert "999999" in refs["orderline:999999"].label
    assert refs["claim:4"].url is None  # the CS pages do not exist yet

    # once a page with that name exists, the same reference links to it
    monkeypatch.setitem(
        inventory_views.REFERENCE_KINDS,
        "claim",
        inventory_views.ReferenceKind("%(id)s", "inventory:sku_stock"),
    )
    refs = inventory_views.ledger_references(["claim:4"], user=manager_user)
    assert refs["claim:4"].url == reverse("inventory:sku_stock", args=[4])
    assert ledger_url_of_shipment(manager_user) == reverse("shipping:shipment_detail", args=[4])


def ledger_url_of_shipment(user: object) -> str | None:
    return inventory_views.ledger_references(["shipment:4"], user=user)["shipment:4"].url


def test_import_references_link_to_the_upload_only_for_those_who_may_open_it(
    manager_user, staff_user
) -> None:
    manager_refs = inventory_views.ledger_references(["import:7"], user=manager_user)
    staff_refs = inventory_views.ledger_references(["import:7"], user=staff_user)
    assert manager_refs["import:7"].url == reverse("inventory:stock_import_detail", args=[7])
    assert staff_refs["import:7"].url is None
    assert "7" in staff_refs["import:7"].label


def test_references_without_a_known_prefix_show_as_typed(manager_user) -> None:
    refs = inventory_views.ledger_references(["PO-2026-001", "orderline:abc", "memo:"], user=manager_user)
    assert (refs["PO-2026-001"].label, refs["PO-2026-001"].url) == ("PO-2026-001", None)
    assert refs["orderline:abc"].url is None
    assert refs["memo:"].label == "memo:"


def test_bundle_page_shows_derived_stock_from_components_and_no_forms(manager_user, warehouse) -> None:
    knit = SkuFactory.create(code="KNIT")
    scarf = SkuFactory.create(code="SCARF")
    stock_receive(sku=knit, location=warehouse, quantity=7)
    stock_receive(sku=scarf, location=warehouse, quantity=4)
    bundle = make_bundle([(knit, 1), (scarf, 2)], code="SET")

    html = client_for(manager_user).get(page_url(bundle)).content.decode()

    assert re.search(r"data-available>2<", html)  # min(7 // 1, 4 // 2)
    assert reverse("inventory:sku_stock", args=[knit.pk]) in html
    assert 'class="action-form"' not in html


def test_stock_forms_refuse_bundles_and_write_nothing(manager_user, warehouse) -> None:
    bundle = make_bundle([(SkuFactory.create(), 1)], code="SET")
    response = client_for(manager_user).post(
        action_url("receive", bundle), {"location": warehouse.pk, "quantity": 5}
    )
    assert response.status_code == 302
    assert StockMovement.objects.count() == 0
    assert any("SET" in m for m in flash(response))


def test_missing_sku_is_404(manager_user) -> None:
    assert client_for(manager_user).get(reverse("inventory:sku_stock", args=[999999])).status_code == 404


# --- Forms that work -----------------------------------------------------------------------------


def test_receive_adds_stock_with_a_ledger_row_and_returns_to_the_page(manager_user, warehouse, sku) -> None:
    response = client_for(manager_user).post(
        action_url("receive", sku),
        {"location": warehouse.pk, "quantity": "12", "reference": "PO-7", "reason": "봄 시즌 입고"},
    )
    assert response.status_code == 302
    # back to the page with the receive form open at the same location, for the next box
    assert response["Location"] == f"{action_url('receive', sku)}?at={warehouse.pk}"
    assert on_hand(sku, warehouse) == 12
    movement = StockMovement.objects.get(sku=sku)
    assert (movement.type, movement.quantity, movement.reference, movement.reason, movement.user) == (
        "receive",
        12,
        "PO-7",
        "봄 시즌 입고",
        manager_user,
    )
    assert any("KNIT-BK-S" in m and "12" in m for m in flash(response))


def test_receive_from_the_overview_goes_back_to_the_filtered_list(manager_user, warehouse, sku) -> None:
    back = reverse("inventory:stock_list") + "?state=low"
    response = client_for(manager_user).post(
        action_url("receive", sku), {"location": warehouse.pk, "quantity": 1, "next": back}
    )
    assert response["Location"] == back


def test_an_outside_next_is_ignored(manager_user, warehouse, sku) -> None:
    response = client_for(manager_user).post(
        action_url("receive", sku), {"location": warehouse.pk, "quantity": 1, "next": "https://evil.example/"}
    )
    assert response["Location"].startswith(action_url("receive", sku))


def test_adjust_removes_stock_with_its_reason(manager_user, warehouse, sku) -> None:
    stock_receive(sku=sku, location=warehouse, quantity=10)
    response = client_for(manager_user).post(
        action_url("adjust", sku), {"location": warehouse.pk, "delta": "-3", "reason": " 파손 "}
    )
    assert response.status_code == 302
    assert on_hand(sku, warehouse) == 7
    movement = StockMovement.objects.filter(sku=sku).latest("pk")
    assert (movement.type, movement.quantity, movement.reason) == ("adjust", -3, "파손")


def test_transfer_moves_free_stock_between_locations(manager_user, warehouse, store, sku) -> None:
    stock_receive(sku=sku, location=warehouse, quantity=10)
    response = client_for(manager_user).post(
        action_url("transfer", sku),
        {"from_location": warehouse.pk, "to_location": store.pk, "quantity": 4, "reason": "매장 보충"},
    )
    assert response.status_code == 302
    assert (on_hand(sku, warehouse), on_hand(sku, store)) == (6, 4)


def test_count_sets_on_hand_and_an_equal_count_changes_nothing(manager_user, warehouse, sku) -> None:
    stock_receive(sku=sku, location=warehouse, quantity=10)
    client = client_for(manager_user)
    response = client.post(action_url("count", sku), {"location": warehouse.pk, "counted": 8})
    assert response.status_code == 302
    assert on_hand(sku, warehouse) == 8
    movement = StockMovement.objects.filter(sku=sku).latest("pk")
    assert (movement.type, movement.quantity, movement.on_hand_after) == ("count", -2, 8)

    before = StockMovement.objects.count()
    response = client.post(action_url("count", sku), {"location": warehouse.pk, "counted": 8})
    assert response.status_code == 302
    assert StockMovement.objects.count() == before
    assert any("8" in m for m in flash(response))


def test_action_url_opens_the_page_with_that_form_and_the_chosen_location(
    manager_user, warehouse, store, sku
) -> None:
    html = client_for(manager_user).get(action_url("count", sku), {"at": store.pk}).content.decode()
    assert 'data-action="count"' in html
    assert re.search(rf'<option value="{store.pk}" selected>', html)


def test_the_page_opens_with_the_receive_form_for_managers_and_none_for_staff(
    manager_user, staff_user, sku
) -> None:
    assert 'data-action="receive"' in client_for(manager_user).get(page_url(sku)).content.decode()
    staff_html = client_for(staff_user).get(page_url(sku)).content.decode()
    assert "action-form" not in staff_html
    assert action_url("adjust", sku) not in staff_html


# --- Forms that refuse ---------------------------------------------------------------------------

BAD_INPUT = [
    ("receive", {"quantity": "5"}, "location"),
    ("receive", {"quantity": "0"}, "quantity"),
    ("receive", {"quantity": "-4"}, "quantity"),
    ("receive", {"quantity": "다섯"}, "quantity"),
    ("receive", {"quantity": "2.5"}, "quantity"),
    ("receive", {"quantity": "10000001"}, "quantity"),
    ("adjust", {"delta": "-2", "reason": ""}, "reason"),
    ("adjust", {"delta": "-2", "reason": "   "}, "reason"),
    ("adjust", {"delta": "0", "reason": "오류 수정"}, "delta"),
    ("transfer", {"quantity": "1"}, "to_location"),
    ("count", {"counted": "-1"}, "counted"),
    ("count", {"counted": ""}, "counted"),
]


@pytest.mark.parametrize(("action", "data", "field"), BAD_INPUT)
def test_bad_input_is_refused_with_the_field_named_and_nothing_written(
    manager_user, warehouse, store, sku, action, data, field
) -> None:
    stock_receive(sku=sku, location=warehouse, quantity=10)
    before = (StockMovement.objects.count(), on_hand(sku, warehouse), on_hand(sku, store))
    data = dict(data)
    if action == "transfer":
        data |= {"from_location": warehouse.pk, "to_location": warehouse.pk}
    elif field != "location":
        data |= {"location": warehouse.pk}

    response = client_for(manager_user).post(action_url(action, sku), data)

    assert response.status_code == 400
    assert field in response.context["action_form"].errors
    assert 'class="field has-error"' in response.content.decode()
    assert (StockMovement.objects.count(), on_hand(sku, warehouse), on_hand(sku, store)) == before


def test_an_inactive_location_cannot_be_chosen(manager_user, warehouse, sku) -> None:
    closed = LocationFactory.create(code="OLD", is_active=False)
    response = client_for(manager_user).post(
        action_url("receive", sku), {"location": closed.pk, "quantity": 3}
    )
    assert response.status_code == 400
    assert "location" in response.context["action_form"].errors
    assert StockMovement.objects.count() == 0


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("adjust", {"delta": "-8", "reason": "분실"}),  # 10 on hand, 4 reserved: on hand would be 2
        ("count", {"counted": "3"}),  # below the 4 reserved
        ("transfer", {"quantity": "7"}),  # only 6 are free
    ],
)
def test_service_refusals_show_their_reason_and_write_nothing(
    manager_user, warehouse, store, sku, action, data
) -> None:
    stock_receive(sku=sku, location=warehouse, quantity=10)
    stock_reserve(reference="orderline:1", lines=[(sku.pk, 4)])
    before = StockMovement.objects.count()
    data = dict(data)
    if action == "transfer":
        data |= {"from_location": warehouse.pk, "to_location": store.pk}
    else:
        data |= {"location": warehouse.pk}

    response = client_for(manager_user).post(action_url(action, sku), data)

    assert response.status_code == 400
    errors = response.context["action_form"].non_field_errors()
    assert errors and "KNIT-BK-S" in errors[0]
    assert errors[0] in response.content.decode()
    assert StockMovement.objects.count() == before
    assert (on_hand(sku, warehouse), on_hand(sku, store)) == (10, 0)


@pytest.mark.parametrize("action", ["receive", "adjust", "transfer", "count"])
def test_staff_cannot_change_stock(staff_user, warehouse, sku, action) -> None:
    data = {"location": warehouse.pk, "quantity": 5, "delta": 5, "reason": "x", "counted": 5}
    response = client_for(staff_user).post(action_url(action, sku), data)
    assert response.status_code == 403
    assert StockMovement.objects.count() == 0
