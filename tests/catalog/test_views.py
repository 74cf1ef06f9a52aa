"""The catalog screens through the test client: full pages without JavaScript, fragments for
htmx, read-only for staff, errors shown where the input is and nothing written."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from catalog.models import BundleItem, Product, Sku, SkuChange
from inventory.services import stock_receive
from oms.models import AuditLog
from tests.catalog.factories import ProductFactory, SkuFactory, make_bundle
from tests.conftest import client_for, sheet_of
from tests.inventory.factories import LocationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

HTMX = {"HX-Request": "true"}
LIST = reverse("catalog:product_list")
BULK = reverse("catalog:product_bulk")
CREATE = reverse("catalog:product_create")


@pytest.fixture
def knit() -> Product:
    product = ProductFactory.create(code="KN-01", name="울 라운드 니트", sale_price=39000, brand="데모상회")
    for code, label in [("KN-01-BK-S", "블랙 / S"), ("KN-01-BK-M", "블랙 / M")]:
        SkuFactory.create(product=product, code=code, option_label=label, low_stock_threshold=3)
    return product


# --- Product list -------------------------------------------------------------------------------


def test_the_list_shows_each_sku_under_its_product_with_stock_badges(manager_user, knit) -> None:
    location = LocationFactory.create()
    stock_receive(sku=Sku.objects.get(code="KN-01-BK-M"), location=location, quantity=2)

    html = client_for(manager_user).get(LIST).content.decode()

    assert "울 라운드 니트" in html and "KN-01-BK-S" in html and "KN-01-BK-M" in html
    assert 'class="badge bad">Sold out' in html  # BK-S: nothing received
    assert 'class="badge warn">Low' in html  # BK-M: 2 <= 3
    assert 'name="bulk-action" value="price"' in html


def test_staff_read_the_list_without_bulk_actions(staff_user, knit) -> None:
    html = client_for(staff_user).get(LIST).content.decode()
    assert "KN-01-BK-S" in html
    assert 'name="bulk-action"' not in html and 'name="ids"' not in html
    assert reverse("catalog:product_create") not in html


def test_filters_go_in_the_url_and_htmx_gets_only_the_results(manager_user, knit) -> None:
    other = SkuFactory.create(code="TS-01-WH", product__name="티셔츠")
    response = client_for(manager_user).get(LIST, {"q": "니트"}, headers=HTMX)
    html = response.content.decode()
    assert "<html" not in html and 'id="results"' in html
    assert "KN-01-BK-S" in html and other.code not in html
    # The bulk form carries the filters, for "all matching".
    assert '<input type="hidden" name="q" value="니트">' in html


def test_the_list_pages_by_keyset(manager_user) -> None:
    for _ in range(3):
        SkuFactory.create_batch(20, product=ProductFactory.create())
    client = client_for(manager_user)
    first = client.get(LIST)
    assert len(first.context["rows"]) == 50 and first.context["page"].next_cursor
    second = client.get(LIST, {"after": first.context["page"].next_cursor})
    assert len(second.context["rows"]) == 10
    assert not {s.pk for s, _a, _st in first.context["rows"]} & {
        s.pk for s, _a, _st in second.context["rows"]
    }


def test_excel_download_has_what_the_filters_show(staff_user, knit) -> None:
    SkuFactory.create(code="OTHER-1", product__name="머그컵")
    response = client_for(staff_user).get(LIST, {"q": "KN-01", "format": "xlsx"})
    sheet = sheet_of(response)
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("Product code", "Product name", "Brand", "Category", "Option", "SKU code")
    assert [r[5] for r in rows[1:]] == ["KN-01-BK-S", "KN-01-BK-M"]
    assert rows[1][10] == 39000  # price
    assert rows[1][15] == "Sold out"  # stock state


def test_the_upload_layout_download_has_the_filtered_skus_in_the_import_columns(manager_user, knit) -> None:
    SkuFactory.create(code="OTHER-1", product__name="머그컵")
    response = client_for(manager_user).get(LIST, {"q": "KN-01", "format": "upload"})
    rows = list(sheet_of(response).iter_rows(values_only=True))
    assert rows[0][:2] == ("상품코드", "상품명") and "SKU코드" in rows[0]
    sku_col = rows[0].index("SKU코드")
    assert [r[sku_col] for r in rows[1:] if r[sku_col]] == ["KN-01-BK-S", "KN-01-BK-M"]


# --- Bulk edit ----------------------------------------------------------------------------------


def _bulk(client, data: dict, *, confirm: bool = False):
    payload = {"bulk-action": "price", **data}
    if confirm:
        payload["confirm"] = "1"
    return client.post(BULK, payload)


def test_bulk_price_previews_then_applies_to_the_checked_skus(manager_user, knit) -> None:
    client = client_for(manager_user)
    ids = list(knit.skus.values_list("pk", flat=True))
    data = {"ids": ids, "bulk-price_mode": "percent_up", "bulk-price_amount": "10"}

    preview = _bulk(client, data)
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "39,000" in html and "42,900" in html and 'data-testid="apply"' in html
    assert not AuditLog.objects.filter(action__contains="bulk").exists()

    done = _bulk(client, data, confirm=True)
    assert done.status_code == 302 and done["Location"] == LIST
    knit.refresh_from_db()
    assert knit.sale_price == 42900
    assert SkuChange.objects.count() == 2


def test_bulk_select_all_matching_touches_only_what_the_filters_match(manager_user, knit) -> None:
    other = SkuFactory.create(code="TS-01", product__sale_price=10000)
    response = _bulk(
        client_for(manager_user),
        {"select_all": "filtered", "q": "KN-01", "bulk-price_mode": "add", "bulk-price_amount": "1000"},
        confirm=True,
    )
    assert response["Location"] == f"{LIST}?q=KN-01"
    assert sorted(s.price for s in Sku.objects.filter(product=knit)) == [40000, 40000]
    other.refresh_from_db()
    assert other.price == 10000


def test_a_forged_id_outside_the_filters_is_not_touched(manager_user, knit) -> None:
    other = SkuFactory.create(product__sale_price=10000)
    _bulk(
        client_for(manager_user),
        {"ids": [other.pk], "q": "KN-01", "bulk-price_mode": "set", "bulk-price_amount": "5000"},
        confirm=True,
    )
    other.product.refresh_from_db()
    assert other.product.sale_price == 10000


def test_a_negative_result_is_shown_as_refused_and_apply_changes_nothing(manager_user, knit) -> None:
    client = client_for(manager_user)
    data = {"select_all": "filtered", "bulk-price_mode": "subtract", "bulk-price_amount": "50000"}
    html = _bulk(client, data).content.decode()
    assert "below 0" in html and "disabled" in html
    forced = _bulk(client, data, confirm=True)
    assert forced.status_code == 400 and "Nothing was changed" in forced.content.decode()
    knit.refresh_from_db()
    assert knit.sale_price == 39000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bulk-price_mode": "add", "bulk-price_amount": "10.5"}, "Enter whole won, without decimals."),
        ({"bulk-price_mode": "percent_down", "bulk-price_amount": "120"}, "at most 100%"),
        ({"bulk-price_mode": "add"}, "Enter an amount."),
    ],
)
def test_bad_bulk_input_returns_to_the_list_with_the_reason(manager_user, knit, data, message) -> None:
    response = client_for(manager_user).post(
        BULK, {"bulk-action": "price", "select_all": "filtered", **data}, follow=True
    )
    assert message in response.content.decode()
    knit.refresh_from_db()
    assert knit.sale_price == 39000


def test_bulk_with_nothing_selected_says_so(manager_user, knit) -> None:
    response = client_for(manager_user).post(
        BULK, {"bulk-action": "status", "bulk-status": "sold_out"}, follow=True
    )
    assert "Select at least one SKU first." in response.content.decode()


def test_bulk_rename_and_status_through_the_view(manager_user, knit) -> None:
    client = client_for(manager_user)
    client.post(
        BULK,
        {
            "bulk-action": "name",
            "select_all": "filtered",
            "bulk-name_mode": "add_prefix",
            "bulk-name_text": "[특가]",
            "confirm": "1",
        },
    )
    client.post(
        BULK, {"bulk-action": "status", "select_all": "filtered", "bulk-status": "sold_out", "confirm": "1"}
    )
    knit.refresh_from_db()
    assert (knit.name, knit.status) == ("[특가] 울 라운드 니트", "sold_out")
    assert AuditLog.objects.filter(action="product.bulk_rename", actor=manager_user).count() == 1


# --- Product page and SKUs in place -----------------------------------------------------------------


def test_the_product_page_has_an_editable_row_per_sku_for_managers_and_text_for_staff(
    manager_user, staff_user, knit
) -> None:
    url = reverse("catalog:product_detail", args=[knit.pk])
    sku = knit.skus.first()
    assert sku is not None
    managed = client_for(manager_user).get(url).content.decode()
    assert f'id="sku-form-{sku.pk}"' in managed and f'name="sku-{sku.pk}-extra_price"' in managed
    read = client_for(staff_user).get(url).content.decode()
    assert (
        "KN-01-BK-S" in read and "sku-form-" not in read and "<input" not in read.split("Options (SKUs)")[1]
    )


def _row_data(sku: Sku, **changes) -> dict:
    values = {
        "option_label": sku.option_label,
        "extra_price": sku.extra_price,
        "barcode": sku.barcode,
        "safety_stock": sku.safety_stock,
        "low_stock_threshold": sku.low_stock_threshold,
        "status": sku.status,
        "is_active": "on" if sku.is_active else "",
        **changes,
    }
    return {f"sku-{sku.pk}-{k}": v for k, v in values.items() if v != ""}


def test_an_inline_save_with_htmx_returns_the_row_marked_saved(manager_user, knit) -> None:
    sku = Sku.objects.get(code="KN-01-BK-S")
    response = client_for(manager_user).post(
        reverse("catalog:sku_update", args=[sku.pk]),
        _row_data(sku, extra_price=1500, safety_stock=2),
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="sku-{sku.pk}"') and "saved" in html and "40,500" in html
    sku.refresh_from_db()
    assert (sku.extra_price, sku.safety_stock) == (1500, 2)
    assert AuditLog.objects.get(action="sku.update").actor == manager_user


def test_an_inline_error_comes_back_in_the_row_and_nothing_is_saved(manager_user, knit) -> None:
    sku = Sku.objects.get(code="KN-01-BK-S")
    SkuFactory.create(code="ELSEWHERE", barcode="8800000000999")
    response = client_for(manager_user).post(
        reverse("catalog:sku_update", args=[sku.pk]),
        _row_data(sku, extra_price=-40000, barcode="8800000000999", safety_stock=-1),
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps 2xx only
    assert "has-error" in html
    safety_cell = html.split(f'name="sku-{sku.pk}-safety_stock"')[1].split("</td>")[0]
    assert '<small class="error">' in safety_cell  # refused by the form: not below 0
    sku.refresh_from_db()
    assert sku.safety_stock == 0 and not AuditLog.objects.filter(action="sku.update").exists()

    response = client_for(manager_user).post(
        reverse("catalog:sku_update", args=[sku.pk]),
        _row_data(sku, extra_price=-40000, barcode="8800000000999"),
        headers=HTMX,
    )
    html = response.content.decode()
    assert "The price would be -1,000 won" in html and "already on SKU ELSEWHERE" in html
    sku.refresh_from_db()
    assert (sku.extra_price, sku.barcode) != (-40000, "8800000000999")


def test_an_inline_save_works_without_javascript(manager_user, knit) -> None:
    sku = Sku.objects.get(code="KN-01-BK-S")
    client = client_for(manager_user)
    url = reverse("catalog:sku_update", args=[sku.pk])

    ok = client.post(url, _row_data(sku, option_label="블랙 / S (신상)", is_active=""))
    assert ok.status_code == 302 and ok["Location"] == reverse("catalog:product_detail", args=[knit.pk])
    sku.refresh_from_db()
    assert (sku.option_label, sku.is_active) == ("블랙 / S (신상)", False)

    bad = client.post(url, _row_data(sku, extra_price=-40000))
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "<html" in html and "The price would be -1,000 won" in html and 'class="sku-row has-error' in html


def test_product_edit_saves_and_shows_field_errors(manager_user, knit) -> None:
    client = client_for(manager_user)
    url = reverse("catalog:product_edit", args=[knit.pk])
    data = {
        "name": "울 라운드 니트 2026",
        "sale_price": "41000",
        "cost": "15000",
        "image_urls": "https://img.example/1.jpg",
    }
    assert client.post(url, data).status_code == 302
    knit.refresh_from_db()
    assert (knit.name, knit.sale_price, knit.image_urls) == (
        "울 라운드 니트 2026",
        41000,
        ["https://img.example/1.jpg"],
    )

    bad = client.post(url, {**data, "image_urls": "not a url"})
    assert bad.status_code == 200 and "Not a web address: not a url" in bad.content.decode()


def test_the_base_price_is_edited_in_place_and_the_option_rows_follow(manager_user, knit) -> None:
    client = client_for(manager_user)
    url = reverse("catalog:product_price", args=[knit.pk])
    sku = Sku.objects.get(code="KN-01-BK-S")

    response = client.post(url, {"sale_price": "42000"}, headers=HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="product-card">')
    assert '<tbody id="sku-rows" hx-swap-oob="true">' in html and f'id="sku-{sku.pk}"' in html
    assert "= 42,000" in html
    knit.refresh_from_db()
    assert knit.sale_price == 42000
    assert AuditLog.objects.get(action="product.update").changes == {"sale_price": [39000, 42000]}
    assert SkuChange.objects.count() == 2


def test_a_refused_base_price_stays_in_the_card_without_touching_the_rows(manager_user, knit) -> None:
    Sku.objects.filter(code="KN-01-BK-S").update(extra_price=-5000)
    client = client_for(manager_user)
    url = reverse("catalog:product_price", args=[knit.pk])

    html = client.post(url, {"sale_price": "3000"}, headers=HTMX).content.decode()
    assert "below 0" in html and "hx-swap-oob" not in html

    no_js = client.post(url, {"sale_price": "3000"})
    assert no_js.status_code == 400 and "below 0" in no_js.content.decode()
    assert client.post(url, {"sale_price": "40000"}).status_code == 302
    knit.refresh_from_db()
    assert knit.sale_price == 40000


def test_product_status_buttons_set_every_option(manager_user, knit) -> None:
    client_for(manager_user).post(
        reverse("catalog:product_status", args=[knit.pk]), {"status": "discontinued"}
    )
    knit.refresh_from_db()
    assert knit.status == "discontinued"
    assert set(knit.skus.values_list("status", flat=True)) == {"discontinued"}


def test_sku_add_adds_an_option_and_refuses_a_taken_code(manager_user, knit) -> None:
    client = client_for(manager_user)
    url = reverse("catalog:sku_add", args=[knit.pk])
    assert (
        client.post(
            url, {"code": "KN-01-BK-L", "option_label": "블랙 / L", "extra_price": "1000"}
        ).status_code
        == 302
    )
    assert Sku.objects.get(code="KN-01-BK-L").price == 40000
    taken = client.post(url, {"code": "KN-01-BK-L"})
    assert "SKU code KN-01-BK-L is already used by another SKU." in taken.content.decode()


# --- Product creation with the option matrix ---------------------------------------------------------


PRODUCT = {"code": "KN-02", "name": "캐시미어 니트", "sale_price": "89000", "cost": "30000"}
OPTIONS = {
    "option_1_name": "색상",
    "option_1_values": "블랙, 아이보리",
    "option_2_name": "사이즈",
    "option_2_values": "S, M",
}


def _preview(client, **extra):
    return client.post(CREATE, {**PRODUCT, **OPTIONS, "action": "preview", **extra})


def _matrix_data(response) -> dict:
    """The preview's form as the browser would post it back."""
    formset = response.context["formset"]
    data = {**PRODUCT, **OPTIONS, "signature": response.context["signature"], "action": "save"}
    data.update({f"sku-{k}": v for k, v in {"TOTAL_FORMS": len(formset.forms), "INITIAL_FORMS": 0}.items()})
    for i, form in enumerate(formset.forms):
        for name in ("values", "code", "extra_price", "barcode"):
            data[f"sku-{i}-{name}"] = form.initial.get(name, "")
    return data


def test_a_two_by_two_matrix_previews_four_skus_then_saves_them(manager_user) -> None:
    client = client_for(manager_user)
    preview = _preview(client)
    assert [f.initial["code"] for f in preview.context["formset"].forms] == [
        "KN-02-BK-S",
        "KN-02-BK-M",
        "KN-02-IV-S",
        "KN-02-IV-M",
    ]
    assert not Product.objects.exists()

    data = _matrix_data(preview)
    data["sku-3-code"] = "KN02-IVORY-M"
    data["sku-3-extra_price"] = "2000"
    saved = client.post(CREATE, data)

    product = Product.objects.get(code="KN-02")
    assert saved.status_code == 302 and saved["Location"] == reverse(
        "catalog:product_detail", args=[product.pk]
    )
    assert list(product.skus.order_by("pk").values_list("code", "option_values", "extra_price")) == [
        ("KN-02-BK-S", {"색상": "블랙", "사이즈": "S"}, 0),
        ("KN-02-BK-M", {"색상": "블랙", "사이즈": "M"}, 0),
        ("KN-02-IV-S", {"색상": "아이보리", "사이즈": "S"}, 0),
        ("KN02-IVORY-M", {"색상": "아이보리", "사이즈": "M"}, 2000),
    ]
    assert product.option_names == ["색상", "사이즈"]


def test_a_code_taken_since_the_preview_is_refused_on_its_row(manager_user) -> None:
    client = client_for(manager_user)
    data = _matrix_data(_preview(client))
    SkuFactory.create(code="KN-02-BK-M")

    response = client.post(CREATE, data)

    assert response.status_code == 200 and not Product.objects.filter(code="KN-02").exists()
    row = response.context["formset"].forms[1]
    assert row.errors["code"] == ["SKU code KN-02-BK-M is already used by another SKU."]


def test_two_rows_with_one_code_are_refused(manager_user) -> None:
    client = client_for(manager_user)
    data = _matrix_data(_preview(client))
    data["sku-1-code"] = "KN-02-BK-S"
    response = client.post(CREATE, data)
    assert "KN-02-BK-S is used on more than one row." in response.content.decode()
    assert not Product.objects.exists()


def test_changing_the_options_after_the_preview_previews_again_keeping_typed_codes(manager_user) -> None:
    client = client_for(manager_user)
    data = _matrix_data(_preview(client))
    data["sku-0-code"] = "MY-BLACK-S"
    data["option_2_values"] = "S, M, L"

    response = client.post(CREATE, data)

    assert not Product.objects.exists()
    assert "changed since the preview" in response.content.decode()
    codes = [f.initial["code"] for f in response.context["formset"].forms]
    assert codes[0] == "MY-BLACK-S" and len(codes) == 6 and "KN-02-IV-L" in codes


def test_a_new_product_code_after_the_preview_moves_the_typed_codes_with_it(manager_user) -> None:
    client = client_for(manager_user)
    data = _matrix_data(_preview(client))
    data["sku-1-code"] = "KN-02-BLACK-M"
    data["sku-2-code"] = "MY-OWN-CODE"
    data["code"] = "KN-03"

    response = client.post(CREATE, data)

    assert not Product.objects.exists()
    codes = [f.initial["code"] for f in response.context["formset"].forms]
    assert codes == ["KN-03-BK-S", "KN-03-BLACK-M", "MY-OWN-CODE", "KN-03-IV-M"]


def test_a_taken_product_code_is_said_at_preview_time(manager_user) -> None:
    ProductFactory.create(code="kn-02")
    response = _preview(client_for(manager_user))
    assert "Product code KN-02 already exists." in response.content.decode()
    assert response.context["formset"] is None


def test_a_suggestion_steps_around_an_existing_code(manager_user) -> None:
    SkuFactory.create(code="KN-02-BK-S")
    preview = _preview(client_for(manager_user))
    assert preview.context["formset"].forms[0].initial["code"] == "KN-02-BK-S-2"
    assert "KN-02-BK-S is taken; a free code is suggested." in preview.content.decode()


def test_bad_options_and_product_fields_are_shown_where_they_were_typed(manager_user) -> None:
    client = client_for(manager_user)
    response = client.post(
        CREATE,
        {
            **PRODUCT,
            "code": "KN 02",
            "option_1_name": "색상",
            "option_1_values": "블랙, 블랙",
            "action": "preview",
        },
    )
    html = response.content.decode()
    assert "Use letters, digits" in html
    product_only = client.post(
        CREATE, {**PRODUCT, "option_1_name": "색상", "option_1_values": "블랙, 블랙", "action": "preview"}
    )
    assert "“색상” lists 블랙 more than once." in product_only.content.decode()
    assert product_only.context["formset"] is None


def test_htmx_preview_swaps_the_form_and_htmx_save_redirects(manager_user) -> None:
    client = client_for(manager_user)
    preview = client.post(CREATE, {**PRODUCT, **OPTIONS, "action": "preview"}, headers=HTMX)
    html = preview.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<form id="create-form"')
    saved = client.post(CREATE, _matrix_data(preview), headers=HTMX)
    product = Product.objects.get(code="KN-02")
    assert saved["HX-Redirect"] == reverse("catalog:product_detail", args=[product.pk])


def test_a_product_without_options_gets_one_sku(manager_user) -> None:
    client = client_for(manager_user)
    preview = client.post(CREATE, {**PRODUCT, "action": "preview"})
    data = _matrix_data(preview)
    for key in OPTIONS:
        data.pop(key)
    client.post(CREATE, data)
    assert list(Sku.objects.values_list("code", "option_label")) == [("KN-02", "")]


# --- SKU search and the bundle editor ------------------------------------------------------------------


def test_sku_search_as_you_type_returns_a_fragment_with_add_buttons(manager_user, knit) -> None:
    make_bundle([(Sku.objects.get(code="KN-01-BK-S"), 1)], code="KN-01-SET")
    response = client_for(manager_user).get(
        reverse("catalog:sku_search"), {"sku_q": "KN-01", "for": "bundle"}, headers=HTMX
    )
    html = response.content.decode()
    assert "<html" not in html and "KN-01-BK-S" in html and "KN-01-SET" not in html
    assert reverse("catalog:bundle_component_row") in html


def test_the_component_row_and_the_sellable_box(manager_user, knit) -> None:
    sku = Sku.objects.get(code="KN-01-BK-M")
    stock_receive(sku=sku, location=LocationFactory.create(), quantity=7)
    client = client_for(manager_user)

    row = client.get(reverse("catalog:bundle_component_row"), {"sku": sku.pk}).content.decode()
    assert 'name="component" value="KN-01-BK-M"' in row and ">7<" in row.replace(" ", "").replace("\n", "")

    sellable = client.get(
        reverse("catalog:bundle_sellable"), {"component": ["KN-01-BK-M"], "quantity": ["3"]}
    )
    assert 'data-testid="sellable">2<' in sellable.content.decode()

    bundle = make_bundle([(sku, 1)])
    refused = client.get(reverse("catalog:bundle_component_row"), {"sku": bundle.pk})
    assert refused.status_code == 400


def test_creating_a_bundle_on_a_new_set_product_from_typed_codes(manager_user, knit) -> None:
    response = client_for(manager_user).post(
        reverse("catalog:bundle_create"),
        {
            "product_code": "SET-KN",
            "product_name": "니트 2종 세트",
            "sale_price": "70000",
            "component": ["kn-01-bk-s", "KN-01-BK-M", "", "KN-01-BK-S"],
            "quantity": ["1", "1", "", "1"],
            "action": "save",
        },
    )
    bundle = Sku.objects.get(code="SET-KN")
    assert response.status_code == 302
    assert bundle.kind == Sku.Kind.BUNDLE and bundle.product.name == "니트 2종 세트"
    # The same SKU typed on two rows is added up.
    assert sorted(BundleItem.objects.filter(bundle=bundle).values_list("component__code", "quantity")) == [
        ("KN-01-BK-M", 1),
        ("KN-01-BK-S", 2),
    ]


def test_a_bundle_form_refuses_unknown_codes_and_bundles_and_keeps_what_was_typed(manager_user, knit) -> None:
    inner = make_bundle([(Sku.objects.get(code="KN-01-BK-S"), 1)], code="INNER-SET")
    response = client_for(manager_user).post(
        reverse("catalog:bundle_create"),
        {
            "product_code": "SET-X",
            "product_name": "세트",
            "sale_price": "1000",
            "component": ["NOPE-1", "INNER-SET"],
            "quantity": ["1", "1"],
            "action": "save",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "No SKU has the code NOPE-1." in html
    assert 'value="NOPE-1"' in html and 'value="INNER-SET"' in html
    response = client_for(manager_user).post(
        reverse("catalog:bundle_create"),
        {
            "product_code": "SET-X",
            "product_name": "세트",
            "sale_price": "1000",
            "component": ["INNER-SET"],
            "quantity": ["1"],
            "action": "save",
        },
    )
    assert "INNER-SET is a bundle" in response.content.decode()
    assert not Product.objects.filter(code="SET-X").exists()
    assert inner.kind == Sku.Kind.BUNDLE


def test_recalculate_does_not_save_and_shows_search_results_without_javascript(manager_user, knit) -> None:
    response = client_for(manager_user).post(
        reverse("catalog:bundle_create"),
        {
            "product_code": "SET-Y",
            "product_name": "세트",
            "sale_price": "1000",
            "component": ["KN-01-BK-S"],
            "quantity": ["2"],
            "sku_q": "BK-M",
            "action": "check",
        },
    )
    assert response.status_code == 200 and not Product.objects.filter(code="SET-Y").exists()
    assert "KN-01-BK-M" in response.content.decode()


def test_adding_a_bundle_option_to_an_existing_product_and_editing_its_components(manager_user, knit) -> None:
    client = client_for(manager_user)
    client.post(
        reverse("catalog:bundle_create") + f"?product={knit.pk}",
        {
            "product": knit.pk,
            "code": "KN-01-PAIR",
            "option_label": "블랙 S+M",
            "component": ["KN-01-BK-S", "KN-01-BK-M"],
            "quantity": ["1", "1"],
            "action": "save",
        },
    )
    bundle = Sku.objects.get(code="KN-01-PAIR")
    assert bundle.product == knit

    url = reverse("catalog:bundle_edit", args=[bundle.pk])
    assert 'value="KN-01-BK-M"' in client.get(url).content.decode()
    assert (
        client.post(url, {"component": ["KN-01-BK-S"], "quantity": ["2"], "action": "save"}).status_code
        == 302
    )
    assert list(bundle.components.values_list("component__code", "quantity")) == [("KN-01-BK-S", 2)]
    assert (
        client.get(reverse("catalog:bundle_edit", args=[Sku.objects.get(code="KN-01-BK-S").pk])).status_code
        == 404
    )


def test_the_product_page_shows_a_bundles_derived_quantity(manager_user, knit) -> None:
    sku = Sku.objects.get(code="KN-01-BK-M")
    stock_receive(sku=sku, location=LocationFactory.create(), quantity=9)
    bundle = make_bundle([(sku, 4)], code="KN-01-QUAD")
    html = (
        client_for(manager_user)
        .get(reverse("catalog:product_detail", args=[bundle.product_id]))
        .content.decode()
    )
    assert "KN-01-QUAD" in html and "derived from components" in html
    row = html.split(f'id="sku-{bundle.pk}"')[1].split("</tr>")[0]
    assert "\n          2\n" in row  # 9 // 4


def test_json_values_row_damaged_is_refused(manager_user) -> None:
    client = client_for(manager_user)
    data = _matrix_data(_preview(client))
    data["sku-0-values"] = json.dumps({"not": "a list"})
    response = client.post(CREATE, data)
    assert "This row is damaged" in response.content.decode()
    assert not Product.objects.exists()
