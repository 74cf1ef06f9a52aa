"""Locations: list, create, edit; closing a location that still holds stock is refused, and a
change to what a location sells marks the SKUs held there for the channel stock push."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import Location, StockDirty
from inventory.selectors import available_map
from inventory.services import stock_adjust, stock_receive
from oms.models import AuditLog
from tests.catalog.factories import SkuFactory
from tests.conftest import client_for
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("inventory:location_list")
CREATE_URL = reverse("inventory:location_create")


def edit_url(location: Location) -> str:
    return reverse("inventory:location_edit", args=[location.pk])


def form_data(location: Location, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "code": location.code,
        "name": location.name,
        "kind": location.kind,
        "priority": location.priority,
    }
    if location.sells:
        data["sells"] = "on"
    if location.is_active:
        data["is_active"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_list_shows_each_location_with_what_it_holds(staff_user) -> None:
    warehouse = LocationFactory.create(code="WH", name="파주 물류센터")
    stock_receive(sku=SkuFactory.create(), location=warehouse, quantity=7)
    LocationFactory.create(code="DEF", name="불량 보관", sells=False)
    html = client_for(staff_user).get(LIST_URL).content.decode()
    assert "파주 물류센터" in html and "불량 보관" in html
    assert ">7<" in html
    # staff read the list but get no edit links
    assert edit_url(warehouse) not in html
    assert CREATE_URL not in html


def test_manager_creates_a_location_and_it_is_audited(manager_user) -> None:
    response = client_for(manager_user).post(
        CREATE_URL,
        {
            "code": " wh-02 ",
            "name": "이천 3PL",
            "kind": "3pl",
            "sells": "on",
            "priority": 30,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    location = Location.objects.get(code="WH-02")
    assert (location.name, location.kind, location.sells, location.priority) == ("이천 3PL", "3pl", True, 30)
    entry = AuditLog.objects.get(action="location.create")
    assert entry.actor == manager_user


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"code": "WH", "name": "중복"}, "code"),
        ({"code": "창고1", "name": "한글 코드"}, "code"),
        ({"code": "A B", "name": "공백"}, "code"),
        ({"code": "NEW", "name": "  "}, "name"),
        ({"code": "NEW", "name": "x", "priority": "-1"}, "priority"),
        ({"code": "NEW", "name": "x", "kind": "moon"}, "kind"),
    ],
)
def test_bad_location_input_is_refused_and_nothing_is_created(manager_user, data, field) -> None:
    LocationFactory.create(code="WH")
    payload = {"kind": "warehouse", "priority": 10, "sells": "on", "is_active": "on", **data}
    response = client_for(manager_user).post(CREATE_URL, payload)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert Location.objects.count() == 1


def test_edit_changes_name_and_priority_and_records_old_and_new(manager_user) -> None:
    location = LocationFactory.create(code="WH", name="창고", priority=10)
    response = client_for(manager_user).post(
        edit_url(location), form_data(location, name="파주 창고", priority=5)
    )
    assert response.status_code == 302
    location.refresh_from_db()
    assert (location.name, location.priority) == ("파주 창고", 5)
    entry = AuditLog.objects.get(action="location.update")
    assert entry.changes == {"name": ["창고", "파주 창고"], "priority": [10, 5]}


def test_closing_a_location_that_holds_stock_is_refused(manager_user) -> None:
    location = LocationFactory.create(code="WH")
    sku = SkuFactory.create()
    stock_receive(sku=sku, location=location, quantity=3)
    response = client_for(manager_user).post(edit_url(location), form_data(location, is_active=None))
    assert response.status_code == 400
    assert "is_active" in response.context["form"].errors
    location.refresh_from_db()
    assert location.is_active
    assert not AuditLog.objects.filter(action="location.update").exists()

    # empty it and it closes
    stock_adjust(sku=sku, location=location, delta=-3, reason="폐점 정리")
    response = client_for(manager_user).post(edit_url(location), form_data(location, is_active=None))
    assert response.status_code == 302
    location.refresh_from_db()
    assert not location.is_active


def test_untick_sells_takes_the_stock_out_of_available_and_marks_it_for_the_push(manager_user) -> None:
    location = LocationFactory.create(code="WH")
    held, elsewhere = SkuFactory.create(), SkuFactory.create()
    stock_receive(sku=held, location=location, quantity=4)
    stock_receive(sku=elsewhere, location=LocationFactory.create(code="ST"), quantity=4)
    StockDirty.objects.all().delete()

    response = client_for(manager_user).post(edit_url(location), form_data(location, sells=None))

    assert response.status_code == 302
    assert available_map([held.pk]) == {held.pk: 0}
    assert set(StockDirty.objects.values_list("sku_id", flat=True)) == {held.pk}


def test_staff_cannot_create_or_edit_locations(staff_user) -> None:
    location = LocationFactory.create(code="WH")
    client = client_for(staff_user)
    assert (
        client.post(CREATE_URL, {"code": "X", "name": "x", "kind": "warehouse", "priority": 1}).status_code
        == 403
    )
    assert client.post(edit_url(location), form_data(location, name="바뀜")).status_code == 403
    location.refresh_from_db()
    assert location.name != "바뀜"
    assert Location.objects.count() == 1
