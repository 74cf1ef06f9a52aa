"""The global search box finds products and SKUs by name, code and barcode."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.catalog.factories import ProductFactory, SkuFactory
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue() -> None:
    knit = ProductFactory.create(code="KN-01", name="울 라운드 니트")
    SkuFactory.create(product=knit, code="KN-01-BK-S", barcode="8801234567893", option_label="블랙 / S")
    SkuFactory.create(product=knit, code="KN-01-BK-M", barcode="8801234567800", option_label="블랙 / M")


def _hits(user, q: str) -> list[str]:
    response = client_for(user).get(reverse("search"), {"q": q})
    sections = response.context["sections"]
    return [hit.label for section in sections for hit in section.hits]


def test_a_scanned_barcode_lands_on_its_sku(staff_user, catalogue) -> None:
    assert _hits(staff_user, "8801234567893") == ["KN-01-BK-S · 울 라운드 니트 (블랙 / S)"]


def test_a_sku_code_and_a_product_name_are_found(staff_user, catalogue) -> None:
    assert _hits(staff_user, "kn-01-bk")[:2] == [
        "KN-01-BK-S · 울 라운드 니트 (블랙 / S)",
        "KN-01-BK-M · 울 라운드 니트 (블랙 / M)",
    ]
    assert "울 라운드 니트 [KN-01]" in _hits(staff_user, "라운드")


def test_the_hit_links_to_the_product_page(staff_user, catalogue) -> None:
    response = client_for(staff_user).get(reverse("search"), {"q": "KN-01-BK-S"})
    assert "/products/" in response.content.decode() and "#sku-" in response.content.decode()


def test_users_without_the_catalog_permission_get_no_product_section(make_user, catalogue) -> None:
    from django.test import RequestFactory

    from oms.search import search_all

    user = make_user()
    user.groups.clear()
    request = RequestFactory().get("/search/")
    request.user = user
    assert search_all(request, "KN-01") == []
