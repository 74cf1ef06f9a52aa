"""The 샌드박스 마켓 page: what managers and admins see, the htmx refresh, placing orders by hand
and the API tokens (admins)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from channels.models import Marketplace
from channels.sandbox_models import SandboxApiKey, SandboxEvent, SandboxOrder
from oms.models import AuditLog
from tests.channels.factories import ChannelAccountFactory
from tests.channels.test_sandbox_helpers import bearer, make_listing, make_order
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PAGE = reverse("sandbox:page")


@pytest.fixture(autouse=True)
def _sandbox_on(settings) -> None:
    settings.OMS_SANDBOX_ENABLED = True


def test_managers_see_events_orders_and_the_stock_the_sandbox_was_told(manager_user) -> None:
    ChannelAccountFactory.create(marketplace=Marketplace.SANDBOX, name="샌드박스 마켓")
    listing = make_listing(stock=0, name="울 라운드 니트", seller_code="DM-KN01-BK-S")
    order = make_order([(listing, 1)])
    SandboxEvent.objects.create(kind=SandboxEvent.Kind.STOCK, summary="Stock of 1 options: 1 set, 0 refused")
    response = client_for(manager_user).get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Stock of 1 options" in html and order.order_no in html and "DM-KN01-BK-S" in html
    assert "not collected yet" in html
    assert 'hx-trigger="every 3s"' in html
    # Managers read; placing orders and tokens are for admins.
    assert reverse("sandbox:generate") not in html and reverse("sandbox:key_issue") not in html


def test_admins_get_the_order_button_and_the_token_form(admin_user) -> None:
    html = client_for(admin_user).get(PAGE).content.decode()
    assert reverse("sandbox:generate") in html and reverse("sandbox:key_issue") in html


def test_staff_may_not_open_the_page(staff_user) -> None:
    assert client_for(staff_user).get(PAGE).status_code == 403


def test_the_htmx_refresh_renders_only_the_live_part(manager_user) -> None:
    SandboxEvent.objects.create(kind=SandboxEvent.Kind.CONFIRM, summary="Confirmation of 2 product orders")
    response = client_for(manager_user).get(PAGE, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="sandbox-live")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="sandbox-live"')
    assert "Confirmation of 2 product orders" in html and "<html" not in html


def test_events_filter_by_kind_and_page_newest_first(manager_user) -> None:
    SandboxEvent.objects.bulk_create(
        [SandboxEvent(kind=SandboxEvent.Kind.STOCK, summary=f"stock push {i:02d}") for i in range(35)]
        + [SandboxEvent(kind=SandboxEvent.Kind.DISPATCH, summary="a dispatch")]
    )
    client = client_for(manager_user)
    first = client.get(PAGE, {"kind": "stock"}).content.decode()
    assert "stock push 34" in first and "stock push 05" in first and "stock push 04" not in first
    assert "a dispatch" not in first
    page = first.split('href="?kind=stock&amp;after=')[1].split('"')[0]
    second = client.get(PAGE, {"kind": "stock", "after": page}).content.decode()
    assert "stock push 04" in second and "stock push 05" not in second
    # Older pages do not refresh themselves (the rows would move under the reader).
    assert 'hx-trigger="every' not in second


def test_the_page_says_when_the_sandbox_is_off(manager_user, settings) -> None:
    settings.OMS_SANDBOX_ENABLED = False
    html = client_for(manager_user).get(PAGE).content.decode()
    assert "OMS_SANDBOX_ENABLED" in html and 'hx-trigger="every' not in html


def test_admin_places_orders_now(admin_user) -> None:
    make_listing(stock=10)
    response = client_for(admin_user).post(reverse("sandbox:generate"), {"count": "3"}, follow=True)
    assert SandboxOrder.objects.count() == 3
    assert "3 orders placed" in response.content.decode()
    assert AuditLog.objects.filter(action="sandbox.orders_generate", actor=admin_user).exists()


def test_placing_orders_without_stock_says_why(admin_user) -> None:
    make_listing(stock=0)
    response = client_for(admin_user).post(reverse("sandbox:generate"), {"count": "1"}, follow=True)
    assert not SandboxOrder.objects.exists()
    assert "no order was placed" in response.content.decode()


def test_a_bad_count_is_refused(admin_user) -> None:
    make_listing(stock=10)
    response = client_for(admin_user).post(reverse("sandbox:generate"), {"count": "500"})
    assert response.status_code == 400 and not SandboxOrder.objects.exists()


def test_an_issued_token_is_shown_once_and_revoking_it_locks_the_api(admin_user) -> None:
    admin = client_for(admin_user)
    response = admin.post(reverse("sandbox:key_issue"), {"label": "두 번째 계정"})
    html = response.content.decode()
    token = html.split("data-issued-token>")[1].split("<")[0]
    assert token.startswith("sbx_") and response["Cache-Control"] == "no-store"
    key = SandboxApiKey.objects.get(label="두 번째 계정")
    assert token not in admin.get(PAGE).content.decode()
    assert f"····{key.last4}" in admin.get(PAGE).content.decode()
    api = Client()
    assert api.get(reverse("sandbox:api_auth"), headers=bearer(token)).status_code == 200
    admin.post(reverse("sandbox:key_revoke", args=[key.pk]))
    assert api.get(reverse("sandbox:api_auth"), headers=bearer(token)).status_code == 401
    assert AuditLog.objects.filter(action="sandbox.key_revoke").exists()


def test_the_api_needs_no_login_but_a_token(client) -> None:
    response = client.get(reverse("sandbox:api_orders"))
    assert response.status_code == 401  # not a redirect to the login page
    assert response["Content-Type"] == "application/json"
