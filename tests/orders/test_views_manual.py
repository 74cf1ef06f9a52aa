from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from channels.models import ChannelAccount, Marketplace
from inventory.models import Reservation, StockLevel
from inventory.services import stock_receive
from oms.models import User
from orders.models import LineSku, LineStatus, Order, OrderEvent, OrderLine
from orders.services_manual import manual_order_no
from tests.catalog.factories import ProductFactory, SkuFactory
from tests.conftest import client_for
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db

URL = "orders:order_create"


@pytest.fixture
def skus():
    warehouse = LocationFactory.create()
    knit = SkuFactory.create(
        code="KNIT-BK-S", product=ProductFactory.create(name="울 라운드 니트", sale_price=39000)
    )
    cap = SkuFactory.create(code="CAP-BK", product=ProductFactory.create(name="코튼 볼캡", sale_price=19000))
    stock_receive(sku=knit, location=warehouse, quantity=5)
    stock_receive(sku=cap, location=warehouse, quantity=1)
    return knit, cap


def _form(**overrides: Any) -> dict[str, Any]:
    data = {
        "order_no": manual_order_no(),
        "account": "",
        "new_account_name": "전화주문",
        "recipient_name": "홍길동",
        "recipient_phone": "010-1234-5678",
        "recipient_phone2": "",
        "zip_code": "4524",  # lost its leading 0 in a spreadsheet: normalised to 04524
        "address1": "서울특별시 중구 세종대로 110",
        "address2": "3층",
        "delivery_message": "문 앞",
        "buyer_name": "",
        "buyer_phone": "",
        "shipping_fee": "3000",
        "paid": "on",
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-sku_code": "knit-bk-s",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "",
        "lines-1-sku_code": "CAP-BK",
        "lines-1-quantity": "3",
        "lines-1-unit_price": "15000",
        "lines-2-sku_code": "",
        "lines-2-quantity": "1",
        "lines-2-unit_price": "",
    }
    data.update(overrides)
    return data


def _nothing_written() -> None:
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    assert not Reservation.objects.exists()
    assert not ChannelAccount.objects.exists()


def test_the_form_opens_with_a_fresh_order_no_and_a_default_channel_name(manager_user: User) -> None:
    response = client_for(manager_user).get(reverse(URL))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["order_no"].startswith("M") and form.initial["new_account_name"] == "전화주문"


def test_a_manual_order_is_ingested_mapped_and_reserves_stock(skus, manager_user: User) -> None:
    knit, cap = skus
    response = client_for(manager_user).post(reverse(URL), _form(), follow=True)
    order = Order.objects.get()
    assert response.redirect_chain[-1][0] == reverse("orders:order_detail", args=[order.pk])
    assert order.source == Order.Source.MANUAL
    assert order.account.marketplace == Marketplace.MANUAL and order.account.name == "전화주문"
    assert (order.recipient_phone, order.zip_code, order.phone_last4) == ("01012345678", "04524", "5678")
    assert order.buyer_name == "홍길동" and order.paid_at is not None
    lines = list(order.lines.order_by("pk"))
    assert [(ln.quantity, ln.unit_price, ln.line_total) for ln in lines] == [
        (2, 39000, 78000),
        (3, 15000, 45000),
    ]
    assert order.total_amount == 78000 + 45000 + 3000
    assert list(LineSku.objects.order_by("pk").values_list("sku__code", "quantity")) == [
        ("KNIT-BK-S", 2),
        ("CAP-BK", 3),
    ]
    # The knit is reserved; the cap (1 in stock, 3 wanted) waits as 재고 부족, never over-reserved.
    assert StockLevel.objects.get(sku=knit).reserved == 2
    assert StockLevel.objects.get(sku=cap).reserved == 0
    assert [ln.backorder for ln in lines] == [False, True]
    assert all(ln.status == LineStatus.NEW for ln in lines)
    assert OrderEvent.objects.filter(order=order, type=OrderEvent.Type.COLLECTED, user=manager_user).exists()
    assert len(list(response.context["messages"])) == 2  # registered + short of stock


def test_submitting_the_same_form_twice_creates_one_order(skus, manager_user: User) -> None:
    data = _form()
    client = client_for(manager_user)
    client.post(reverse(URL), data)
    response = client.post(reverse(URL), data)
    assert response.status_code == 302
    assert Order.objects.count() == 1 and OrderLine.objects.count() == 2
    assert StockLevel.objects.get(sku=skus[0]).reserved == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"lines-0-sku_code": "NO-SUCH-SKU"}, "sku_code"),
        ({"lines-0-quantity": "0"}, "quantity"),
        ({"lines-1-unit_price": "-5"}, "unit_price"),
        ({"recipient_phone": "12"}, "recipient_phone"),
        ({"zip_code": "135-080"}, "zip_code"),
        ({"address1": ""}, "address1"),
        ({"new_account_name": ""}, "new_account_name"),
        ({"lines-0-sku_code": "", "lines-1-quantity": "", "lines-1-sku_code": ""}, "sku_code"),
        (
            {
                **{f"lines-{i}-sku_code": "" for i in range(3)},
                **{f"lines-{i}-quantity": "1" for i in range(3)},
                **{f"lines-{i}-unit_price": "" for i in range(3)},
            },
            None,
        ),
    ],
)
def test_bad_input_says_where_and_changes_nothing(skus, manager_user: User, overrides, field) -> None:
    response = client_for(manager_user).post(reverse(URL), _form(**overrides))
    assert response.status_code == 200
    form, lines = response.context["form"], response.context["lines"]
    if field in form.fields:
        assert field in form.errors
    elif field is not None:
        assert any(field in f.errors for f in lines.forms)
    else:
        assert lines.non_form_errors()
    _nothing_written()
    assert StockLevel.objects.get(sku=skus[0]).reserved == 0


def test_an_expired_form_token_is_refused(skus, manager_user: User) -> None:
    response = client_for(manager_user).post(reverse(URL), _form(order_no="M1-FORGED"))
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    _nothing_written()


def test_an_inactive_sku_is_refused(skus, manager_user: User) -> None:
    skus[1].is_active = False
    skus[1].save()
    response = client_for(manager_user).post(reverse(URL), _form())
    assert any("sku_code" in f.errors for f in response.context["lines"].forms)
    _nothing_written()


def test_a_marketplace_account_name_cannot_become_a_manual_channel(skus, manager_user: User) -> None:
    ChannelAccount.objects.create(name="쿠팡", marketplace=Marketplace.COUPANG)
    response = client_for(manager_user).post(reverse(URL), _form(new_account_name="쿠팡"))
    assert response.context["form"].non_field_errors()
    assert not Order.objects.exists() and ChannelAccount.objects.count() == 1


def test_an_existing_manual_channel_can_be_picked(skus, manager_user: User) -> None:
    shop = ChannelAccount.objects.create(name="오프라인 매장", marketplace=Marketplace.MANUAL)
    client_for(manager_user).post(reverse(URL), _form(account=str(shop.pk), new_account_name=""))
    assert Order.objects.get().account == shop


def test_sku_search_as_you_type_offers_codes_with_available_stock(skus, manager_user: User) -> None:
    response = client_for(manager_user).get(reverse("orders:sku_search"), {"lines-0-sku_code": "니트"})
    body = response.content.decode()
    assert '<option value="KNIT-BK-S">' in body and "CAP-BK" not in body and "5" in body
    assert (
        client_for(manager_user).get(reverse("orders:sku_search"), {"q": ""}).content.decode().strip() == ""
    )
