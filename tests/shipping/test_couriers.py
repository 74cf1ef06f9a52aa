from __future__ import annotations

import pytest

from shipping.couriers import courier_index, courier_resolve
from shipping.models import Courier
from tests.shipping.factories import courier

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("CJGLS", "CJGLS"),
        ("cjgls", "CJGLS"),
        ("CJ대한통운", "CJGLS"),
        ("CJ 대한통운", "CJGLS"),
        ("cj대한통운(주)", "CJGLS"),
        ("대한통운", "CJGLS"),
        ("CJ택배", "CJGLS"),
        ("롯데택배", "HYUNDAI"),
        ("롯데", "HYUNDAI"),
        ("현대택배", "HYUNDAI"),
        ("HYUNDAI", "HYUNDAI"),
        ("한진", "HANJIN"),
        ("한진택배", "HANJIN"),
        ("로젠", "KGB"),
        ("로젠택배", "KGB"),
        ("KGB", "KGB"),
        ("우체국", "EPOST"),
        ("우체국택배", "EPOST"),
        ("경동", "KDEXP"),
        ("경동택배", "KDEXP"),
        ("일양로지스", "ILYANG"),
        ("천일", "CHUNIL"),
        ("CU 편의점택배", "CUPARCEL"),
        ("GS Postbox", "CVSNET"),
        ("CJ대한통운(CJGLS)", "CJGLS"),
        ("  로젠 택배 ", "KGB"),
    ],
)
def test_courier_resolve_knows_names_codes_and_variants(text: str, code: str) -> None:
    found = courier_resolve(text)
    assert found is not None, text
    assert found.code == code


def test_courier_resolve_reads_marketplace_codes_even_when_excel_dropped_the_zeros() -> None:
    assert courier_resolve("00034").code == "CJGLS"  # type: ignore[union-attr]
    assert courier_resolve("00012", marketplace="11st").code == "HYUNDAI"  # type: ignore[union-attr]
    assert courier_resolve(34).code == "CJGLS"  # type: ignore[union-attr]
    assert courier_resolve(34.0, marketplace="11st").code == "CJGLS"  # type: ignore[union-attr]
    assert courier_resolve("10013", marketplace="gmarket").code == "CJGLS"  # type: ignore[union-attr]
    assert courier_resolve("10003").code == "KGB"  # type: ignore[union-attr]


def test_courier_resolve_prefers_the_named_marketplace_when_codes_clash() -> None:
    # given two marketplaces that use the same number for different couriers
    hanjin = courier("HANJIN")
    hanjin.marketplace_codes = {**hanjin.marketplace_codes, "cafe24": "00034"}
    hanjin.save()
    # then the marketplace decides, and without one the number is ambiguous
    assert courier_resolve("00034", marketplace="cafe24") == hanjin
    assert courier_resolve("00034", marketplace="11st") == courier("CJGLS")
    assert courier_resolve("00034") is None


def test_courier_resolve_answers_none_for_unknown_or_empty_text() -> None:
    assert courier_resolve("") is None
    assert courier_resolve(None) is None
    assert courier_resolve("드론배송") is None
    assert courier_resolve("99999") is None


def test_courier_resolve_finds_couriers_the_seller_added_with_or_without_택배() -> None:
    added = Courier.objects.create(code="KUNYOUNG", name="건영택배", tracking_lengths="10")
    assert courier_resolve("건영") == added
    assert courier_resolve("건영 택배") == added
    assert courier_resolve("kunyoung") == added


def test_courier_resolve_prefers_an_active_courier_over_an_inactive_namesake() -> None:
    old = courier("HYUNDAI")
    old.is_active = False
    old.save()
    assert courier_resolve("롯데") == old  # still found: the caller decides what inactive means
    new = Courier.objects.create(code="LOTTE2", name="롯데 신규", tracking_lengths="12")
    index = courier_index()
    assert index.resolve("HYUNDAI") == old
    assert index.resolve("롯데 신규") == new


def test_one_index_resolves_many_rows_with_one_query(django_assert_num_queries) -> None:
    with django_assert_num_queries(1):
        index = courier_index()
        found = [index.resolve(t) for t in ["CJ대한통운", "롯데", "00011", "우체국"] * 500]
    assert {c.code for c in found if c} == {"CJGLS", "HYUNDAI", "HANJIN", "EPOST"}
