from __future__ import annotations

import pytest
from django.urls import reverse

from oms.models import AuditLog
from shipping.couriers import (
    CourierError,
    courier_create,
    courier_index,
    courier_make_default,
    courier_resolve,
    courier_update,
    default_courier,
)
from shipping.models import Courier
from tests.conftest import client_for
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
        ("CJ Logistics", "CJGLS"),
        ("롯데글로벌로지스 택배", "HYUNDAI"),
        ("Hanjin Express", "HANJIN"),
        ("Korea Post", "EPOST"),
        ("CVSnet 편의점택배", "CVSNET"),
        ("GS Postbox 택배", "CVSNET"),
        ("CU편의점택배", "CUPARCEL"),
        ("㈜한진", "HANJIN"),
        ("경동택배(주)", "KDEXP"),
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


# --- The courier table ---------------------------------------------------------------------------


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "건영택배",
        "code": "kunyoung",
        "code_11st": "",
        "code_gmarket": "",
        "code_auction": "",
        "code_cafe24": "",
        "other_codes": "",
        "tracking_lengths": "10, 12",
        "tracking_url": "https://kunyoung.example/track?no={number}",
        "sort_order": "200",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_everyone_sees_the_couriers_but_only_admins_see_the_buttons(staff_user, admin_user) -> None:
    staff_page = client_for(staff_user).get(reverse("shipping:courier_list")).content.decode()
    admin_page = client_for(admin_user).get(reverse("shipping:courier_list")).content.decode()

    for page in (staff_page, admin_page):
        assert "CJ대한통운" in page
        assert "HYUNDAI" in page
        assert "11번가" in page
        assert "00034" in page
    assert "택배사는 관리자만 바꿀 수 있습니다." in staff_page
    assert reverse("shipping:courier_create") not in staff_page
    assert "기본으로 지정" not in staff_page
    assert reverse("shipping:courier_create") in admin_page
    assert reverse("shipping:courier_edit", args=[courier("HANJIN").pk]) in admin_page


def test_admin_adds_a_courier_with_marketplace_codes_and_it_is_audited(admin_user) -> None:
    response = client_for(admin_user).post(
        reverse("shipping:courier_create"),
        _form(code_11st="00099", code_gmarket="10099", other_codes="shopify = Kunyoung Express\n"),
    )

    assert response.status_code == 302
    added = Courier.objects.get(code="KUNYOUNG")
    assert added.tracking_lengths == "10,12"
    assert added.marketplace_codes == {"11st": "00099", "gmarket": "10099", "shopify": "Kunyoung Express"}
    assert added.code_for("11st") == "00099"
    assert not added.is_default
    assert AuditLog.objects.filter(
        action="courier.create", object_id=str(added.pk), actor=admin_user
    ).exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"tracking_lengths": "열두자리"}, "tracking_lengths", "10,12처럼"),
        ({"tracking_lengths": "12-8"}, "tracking_lengths", "8-16처럼"),
        ({"tracking_url": "https://kunyoung.example/track"}, "tracking_url", "{number}"),
        ({"tracking_url": "kunyoung.example/{number}"}, "tracking_url", "https://"),
        ({"code": "건영"}, "code", "영문 대문자"),
        ({"other_codes": "naverpay=1"}, "other_codes", "알 수 없는 마켓"),
        ({"other_codes": "shopify"}, "other_codes", "마켓=코드"),
        ({"code_11st": "00099", "other_codes": "11st=00098"}, "other_codes", "전용 칸"),
        ({"name": "CJ대한통운"}, "name", "이미"),
    ],
)
def test_bad_courier_input_is_named_and_nothing_is_saved(
    admin_user, overrides: dict[str, str], field: str, message: str
) -> None:
    response = client_for(admin_user).post(reverse("shipping:courier_create"), _form(**overrides))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not Courier.objects.filter(code="KUNYOUNG").exists()


def test_edit_keeps_codes_of_marketplaces_without_their_own_field(admin_user) -> None:
    hanjin = courier("HANJIN")
    hanjin.marketplace_codes = {**hanjin.marketplace_codes, "shopify": "Hanjin"}
    hanjin.save()
    client = client_for(admin_user)

    form = client.get(reverse("shipping:courier_edit", args=[hanjin.pk])).context["form"]
    assert form["code_11st"].value() == "00011"
    assert form["other_codes"].value() == "shopify=Hanjin"
    data = {name: form[name].value() or "" for name in form.fields}
    data["is_active"] = "on"
    data["tracking_lengths"] = "10,12,14"
    data.pop("is_default")
    response = client.post(reverse("shipping:courier_edit", args=[hanjin.pk]), data)

    assert response.status_code == 302
    hanjin.refresh_from_db()
    assert hanjin.tracking_lengths == "10,12,14"
    assert hanjin.marketplace_codes == {
        "11st": "00011",
        "gmarket": "10007",
        "auction": "10007",
        "shopify": "Hanjin",
    }
    log = AuditLog.objects.get(action="courier.update", object_id=str(hanjin.pk))
    assert log.changes == {"tracking_lengths": ["10,12", "10,12,14"]}


def test_making_another_courier_the_default_swaps_the_one_default(admin_user) -> None:
    response = client_for(admin_user).post(reverse("shipping:courier_default", args=[courier("HYUNDAI").pk]))

    assert response.status_code == 302
    assert list(Courier.objects.filter(is_default=True).values_list("code", flat=True)) == ["HYUNDAI"]
    assert default_courier() == courier("HYUNDAI")
    assert AuditLog.objects.filter(action="courier.default").exists()


def test_a_new_default_courier_takes_over_from_the_old_one() -> None:
    added = courier_create(values={**_values(), "is_default": True}, actor=None)

    assert list(Courier.objects.filter(is_default=True)) == [added]


def test_the_default_courier_cannot_be_switched_off_or_undefaulted() -> None:
    cj = courier("CJGLS")
    with pytest.raises(CourierError, match="사용 중이어야"):
        courier_update(courier=cj, values={"is_active": False}, actor=None)
    with pytest.raises(CourierError, match="다른 택배사를 기본으로"):
        courier_update(courier=cj, values={"is_default": False}, actor=None)
    lotte = courier("HYUNDAI")
    courier_update(courier=lotte, values={"is_active": False}, actor=None)
    with pytest.raises(CourierError, match="사용하지 않는 택배사"):
        courier_make_default(courier=lotte, actor=None)
    cj.refresh_from_db()
    assert cj.is_default and cj.is_active


def test_deactivating_shows_on_the_list_and_drops_out_of_sheet_choices(admin_user) -> None:
    hanjin = courier("HANJIN")
    client = client_for(admin_user)
    form = client.get(reverse("shipping:courier_edit", args=[hanjin.pk])).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.pop("is_active")
    data.pop("is_default")

    assert client.post(reverse("shipping:courier_edit", args=[hanjin.pk]), data).status_code == 302

    hanjin.refresh_from_db()
    assert not hanjin.is_active
    page = client.get(reverse("shipping:courier_list")).content.decode()
    assert page.count("미사용") == 1
    sheet_page = client.get(reverse("shipping:courier_sheet"))
    assert hanjin not in sheet_page.context["form"].fields["courier"].queryset


def test_a_manager_cannot_change_couriers_even_by_posting(manager_user) -> None:
    client = client_for(manager_user)
    hanjin = courier("HANJIN")

    assert client.post(reverse("shipping:courier_edit", args=[hanjin.pk]), _form()).status_code == 403
    assert client.post(reverse("shipping:courier_default", args=[hanjin.pk])).status_code == 403
    assert client.post(reverse("shipping:courier_create"), _form()).status_code == 403
    assert not Courier.objects.filter(code="KUNYOUNG").exists()
    assert courier("CJGLS").is_default


def _values() -> dict[str, object]:
    return {
        "code": "KUNYOUNG",
        "name": "건영택배",
        "tracking_lengths": "10",
        "tracking_url": "",
        "marketplace_codes": {},
        "is_active": True,
        "sort_order": 200,
    }


def test_ticking_default_on_the_edit_form_moves_the_default(admin_user) -> None:
    hanjin = courier("HANJIN")
    client = client_for(admin_user)
    form = client.get(reverse("shipping:courier_edit", args=[hanjin.pk])).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["is_active"] = data["is_default"] = "on"

    assert client.post(reverse("shipping:courier_edit", args=[hanjin.pk]), data).status_code == 302

    assert list(Courier.objects.filter(is_default=True)) == [hanjin]
