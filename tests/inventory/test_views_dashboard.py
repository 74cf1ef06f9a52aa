"""The stock cards on the dashboard: 품절 and 부족 counts linking to the filtered 재고 부족 list."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.urls import reverse

from inventory.dashboard import stock_cards
from inventory.services import stock_receive
from oms.models import User
from tests.catalog.factories import SkuFactory
from tests.conftest import client_for
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db


def cards_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return stock_cards(request)


def test_the_provider_is_registered() -> None:
    assert "inventory.dashboard.stock_cards" in settings.OMS_DASHBOARD_CARDS


def test_cards_count_sold_out_and_low_and_link_to_the_filtered_list(staff_user) -> None:
    warehouse = LocationFactory.create()
    SkuFactory.create(low_stock_threshold=3)  # never received: sold out
    SkuFactory.create(is_active=False)  # inactive: not counted
    for quantity in (1, 3):
        stock_receive(sku=SkuFactory.create(low_stock_threshold=3), location=warehouse, quantity=quantity)
    stock_receive(sku=SkuFactory.create(low_stock_threshold=3), location=warehouse, quantity=4)

    sold_out, low = cards_for(staff_user)

    assert (sold_out.count, sold_out.tone) == (1, "bad")
    assert (low.count, low.tone) == (2, "warn")
    low_url = reverse("inventory:low_stock")
    assert sold_out.url == f"{low_url}?state=soldout"
    assert low.url == f"{low_url}?state=low"
    # the link opens a list with exactly that many rows
    client = client_for(staff_user)
    for card in (sold_out, low):
        html = client.get(card.url).content.decode()
        assert len(re.findall(r'<tr data-sku="', html)) == card.count


def test_nothing_low_shows_zero_in_a_calm_tone(manager_user) -> None:
    stock_receive(sku=SkuFactory.create(low_stock_threshold=3), location=LocationFactory.create(), quantity=9)
    assert [(c.count, c.tone) for c in cards_for(manager_user)] == [(0, "ok"), (0, "ok")]


def test_dashboard_page_shows_the_cards(manager_user) -> None:
    SkuFactory.create()
    html = client_for(manager_user).get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("inventory:low_stock")}?state=soldout"' in html


def test_a_user_without_stock_permission_gets_no_cards() -> None:
    nobody = User.objects.create_user(username="norole", password="x-very-long-pass")
    assert cards_for(nobody) == []
