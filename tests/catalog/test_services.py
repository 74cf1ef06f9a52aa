"""Catalog writes: product creation, SKU edits in place, bundles; each audited, each marking
what channels must hear about, and each refusing bad input without writing anything."""

from __future__ import annotations

import pytest

from catalog.models import BundleItem, Product, Sku, SkuChange
from catalog.services import (
    CatalogError,
    ProductDraft,
    SkuDraft,
    bundle_create,
    bundle_set_components,
    product_create,
    product_set_sku_status,
    product_update,
    sku_add,
    sku_update,
)
from inventory.models import StockDirty
from inventory.selectors import available_map
from inventory.services import stock_receive
from oms.models import AuditLog
from tests.catalog.factories import ProductFactory, SkuFactory, make_bundle
from tests.inventory.factories import LocationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _draft(code: str = "KN-01", **extra) -> ProductDraft:
    return ProductDraft(
        code=code, name="울 라운드 니트", brand="데모", category="의류>니트", sale_price=39000, **extra
    )


def _skus(*codes: str) -> list[SkuDraft]:
    return [SkuDraft(code=c, option_label=c, option_values={"색상": c}) for c in codes]


# --- product_create ---------------------------------------------------------------------------


def test_product_create_makes_the_product_its_skus_and_one_audit_row(admin_user) -> None:
    product = product_create(
        actor=admin_user, draft=_draft(option_names=["색상"]), skus=_skus("KN-01-BK", "KN-01-IV")
    )

    assert product.status == Product.Status.ON_SALE
    assert product.option_names == ["색상"]
    assert list(product.skus.order_by("pk").values_list("code", "option_values")) == [
        ("KN-01-BK", {"색상": "KN-01-BK"}),
        ("KN-01-IV", {"색상": "KN-01-IV"}),
    ]
    entry = AuditLog.objects.get(action="product.create")
    assert entry.actor == admin_user
    assert entry.changes["skus"] == ["KN-01-BK", "KN-01-IV"]


@pytest.mark.parametrize(
    ("existing", "typed"),
    [("KN-01-BK", "KN-01-BK"), ("kn-01-bk", "KN-01-BK")],
    ids=["same", "differs-only-in-case"],
)
def test_product_create_refuses_a_sku_code_another_sku_uses(existing: str, typed: str) -> None:
    SkuFactory.create(code=existing)

    with pytest.raises(CatalogError) as caught:
        product_create(actor=None, draft=_draft(), skus=_skus(typed, "KN-01-IV"))

    assert caught.value.rows == {0: {"code": f"SKU code {existing} is already used by another SKU."}}
    assert not Product.objects.filter(code="KN-01").exists()


def test_product_create_refuses_a_code_typed_on_two_rows_and_a_repeated_barcode() -> None:
    drafts = [
        SkuDraft(code="A-1", barcode="8800000000017"),
        SkuDraft(code="a-1", barcode="8800000000017"),
    ]
    with pytest.raises(CatalogError) as caught:
        product_create(actor=None, draft=_draft(), skus=drafts)

    assert "more than one row" in caught.value.rows[0]["code"]
    assert "more than one row" in caught.value.rows[1]["barcode"]
    assert Product.objects.count() == 0 and Sku.objects.count() == 0


def test_product_create_refuses_a_barcode_already_on_another_sku() -> None:
    SkuFactory.create(code="OLD-1", barcode="8801234567893")
    with pytest.raises(CatalogError) as caught:
        product_create(actor=None, draft=_draft(), skus=[SkuDraft(code="NEW-1", barcode="8801234567893")])
    assert caught.value.rows[0]["barcode"] == "Barcode 8801234567893 is already on SKU OLD-1."


def test_product_create_refuses_an_existing_product_code_ignoring_case() -> None:
    ProductFactory.create(code="KN-01")
    with pytest.raises(CatalogError) as caught:
        product_create(actor=None, draft=_draft(code="kn-01"), skus=_skus("X-1"))
    assert caught.value.fields == {"code": "Product code kn-01 already exists."}


def test_product_create_refuses_an_option_price_below_zero_and_bad_code_characters() -> None:
    drafts = [SkuDraft(code="OK-1", extra_price=-40000), SkuDraft(code="블랙 S")]
    with pytest.raises(CatalogError) as caught:
        product_create(actor=None, draft=_draft(), skus=drafts)
    assert "below 0" in caught.value.rows[0]["extra_price"]
    assert "letters, digits" in caught.value.rows[1]["code"]
    assert Product.objects.count() == 0


def test_product_create_needs_at_least_one_sku() -> None:
    with pytest.raises(CatalogError, match="at least one SKU"):
        product_create(actor=None, draft=_draft(), skus=[])


# --- product_update -----------------------------------------------------------------------------


def test_product_update_audits_old_and_new_and_marks_every_sku_when_name_or_price_changes(
    manager_user,
) -> None:
    product = ProductFactory.create(name="니트", sale_price=39000)
    skus = SkuFactory.create_batch(3, product=product)

    product_update(actor=manager_user, product=product, values={"name": "울 니트", "sale_price": 42000})

    product.refresh_from_db()
    assert (product.name, product.sale_price) == ("울 니트", 42000)
    entry = AuditLog.objects.get(action="product.update")
    assert entry.actor == manager_user
    assert entry.changes == {"name": ["니트", "울 니트"], "sale_price": [39000, 42000]}
    assert set(SkuChange.objects.values_list("sku_id", flat=True)) == {s.pk for s in skus}


def test_product_update_of_the_cost_alone_marks_nothing_for_the_channels() -> None:
    product = ProductFactory.create(cost=1000)
    SkuFactory.create(product=product)
    product_update(actor=None, product=product, values={"cost": 2000})
    assert SkuChange.objects.count() == 0
    assert AuditLog.objects.get(action="product.update").changes == {"cost": [1000, 2000]}


def test_product_update_refuses_a_base_price_that_makes_an_option_negative() -> None:
    product = ProductFactory.create(sale_price=10000)
    SkuFactory.create(product=product, extra_price=-5000)
    with pytest.raises(CatalogError) as caught:
        product_update(actor=None, product=product, values={"sale_price": 4000})
    assert "below 0" in caught.value.fields["sale_price"]
    product.refresh_from_db()
    assert product.sale_price == 10000
    assert not AuditLog.objects.exists()


def test_product_update_with_nothing_different_writes_nothing() -> None:
    product = ProductFactory.create(name="니트")
    product_update(actor=None, product=product, values={"name": "니트"})
    assert not AuditLog.objects.exists()


# --- sku_update (the product page's row) --------------------------------------------------------


def test_sku_update_saves_audits_old_new_and_marks_the_sku_changed(manager_user) -> None:
    sku = SkuFactory.create(product__sale_price=39000, extra_price=0, option_label="블랙 / S")

    sku_update(actor=manager_user, sku=sku, values={"extra_price": 2000, "option_label": "블랙 / S (M 권장)"})

    sku.refresh_from_db()
    assert (sku.extra_price, sku.price) == (2000, 41000)
    entry = AuditLog.objects.get(action="sku.update")
    assert entry.actor == manager_user
    assert entry.changes["price"] == [39000, 41000]
    assert entry.changes["extra_price"] == [0, 2000]
    assert SkuChange.objects.filter(sku=sku).exists()
    assert not StockDirty.objects.filter(sku=sku).exists()


def test_sku_update_of_safety_stock_marks_stock_dirty_and_changes_available() -> None:
    location = LocationFactory.create()
    sku = SkuFactory.create(safety_stock=0)
    stock_receive(sku=sku, location=location, quantity=10)
    StockDirty.objects.all().delete()

    sku_update(actor=None, sku=sku, values={"safety_stock": 3})

    assert available_map([sku.pk])[sku.pk] == 7
    assert StockDirty.objects.filter(sku=sku).exists()
    assert not SkuChange.objects.filter(sku=sku).exists()


def test_sku_update_refuses_a_negative_price_and_a_barcode_in_use_writing_nothing() -> None:
    SkuFactory.create(code="OTHER", barcode="8800000000123")
    sku = SkuFactory.create(product__sale_price=10000, extra_price=0, barcode="")

    with pytest.raises(CatalogError) as caught:
        sku_update(actor=None, sku=sku, values={"extra_price": -10010, "barcode": "8800000000123"})

    assert caught.value.fields["extra_price"] == "The price would be -10 won: a price cannot be below 0."
    assert caught.value.fields["barcode"] == "Barcode 8800000000123 is already on SKU OTHER."
    sku.refresh_from_db()
    assert (sku.extra_price, sku.barcode) == (0, "")
    assert not AuditLog.objects.exists() and not SkuChange.objects.exists()


def test_sku_update_to_sold_out_makes_the_product_sold_out_once_no_option_is_on_sale() -> None:
    product = ProductFactory.create()
    first, second = SkuFactory.create_batch(2, product=product)

    sku_update(actor=None, sku=first, values={"status": Product.Status.SOLD_OUT})
    product.refresh_from_db()
    assert product.status == Product.Status.ON_SALE

    sku_update(actor=None, sku=second, values={"status": Product.Status.SOLD_OUT})
    product.refresh_from_db()
    assert product.status == Product.Status.SOLD_OUT
    assert AuditLog.objects.filter(action="product.status").get().changes == {
        "status": ["on_sale", "sold_out"]
    }


def test_an_inactive_option_on_sale_does_not_keep_the_product_on_sale() -> None:
    product = ProductFactory.create()
    used, unused = SkuFactory.create_batch(2, product=product)
    sku_update(actor=None, sku=unused, values={"is_active": False})
    sku_update(actor=None, sku=used, values={"status": Product.Status.DISCONTINUED})
    product.refresh_from_db()
    assert product.status == Product.Status.DISCONTINUED


def test_taking_the_last_option_on_sale_out_of_use_makes_the_product_sold_out() -> None:
    product = ProductFactory.create()
    SkuFactory.create(product=product, status=Product.Status.SOLD_OUT)
    on_sale = SkuFactory.create(product=product)
    sku_update(actor=None, sku=on_sale, values={"is_active": False})
    product.refresh_from_db()
    assert product.status == Product.Status.SOLD_OUT


def test_product_set_sku_status_sets_every_option_and_the_product() -> None:
    product = ProductFactory.create()
    SkuFactory.create_batch(3, product=product)
    result = product_set_sku_status(actor=None, product=product, status=Product.Status.SOLD_OUT)
    assert result.changed == 3
    product.refresh_from_db()
    assert product.status == Product.Status.SOLD_OUT
    assert set(product.skus.values_list("status", flat=True)) == {"sold_out"}
    assert SkuChange.objects.count() == 3


def test_sku_add_adds_an_option_to_an_existing_product(manager_user) -> None:
    product = ProductFactory.create(code="KN-01")
    sku = sku_add(actor=manager_user, product=product, draft=SkuDraft(code="KN-01-XL", option_label="XL"))
    assert sku.product == product and sku.kind == Sku.Kind.SINGLE
    assert AuditLog.objects.get(action="sku.create").object_id == str(sku.pk)

    with pytest.raises(CatalogError) as caught:
        sku_add(actor=None, product=product, draft=SkuDraft(code="kn-01-xl"))
    assert caught.value.fields == {"code": "SKU code KN-01-XL is already used by another SKU."}


# --- Bundles ------------------------------------------------------------------------------------


def test_bundle_create_on_a_new_set_product_derives_its_sellable_quantity() -> None:
    location = LocationFactory.create()
    mug, plate = SkuFactory.create(code="MUG"), SkuFactory.create(code="PLATE")
    stock_receive(sku=mug, location=location, quantity=9)
    stock_receive(sku=plate, location=location, quantity=20)

    bundle = bundle_create(
        actor=None,
        product=ProductDraft(code="SET-1", name="머그 2개 + 접시 세트", sale_price=29000),
        draft=SkuDraft(code="SET-1"),
        components=[(mug, 2), (plate, 1)],
    )

    assert bundle.kind == Sku.Kind.BUNDLE and bundle.product.code == "SET-1"
    assert available_map([bundle.pk])[bundle.pk] == 4  # 9 // 2
    assert StockDirty.objects.filter(sku=bundle).exists()
    assert AuditLog.objects.get(action="bundle.create").changes["components"] == ["MUG x2", "PLATE x1"]


def test_a_bundle_cannot_contain_another_bundle() -> None:
    inner = make_bundle([(SkuFactory.create(), 1)], code="INNER")
    with pytest.raises(CatalogError, match="INNER is a bundle"):
        bundle_create(
            actor=None,
            product=ProductDraft(code="OUTER", name="세트의 세트", sale_price=1000),
            draft=SkuDraft(code="OUTER"),
            components=[(inner, 1)],
        )
    assert not Product.objects.filter(code="OUTER").exists()


def test_a_bundle_cannot_contain_itself() -> None:
    component = SkuFactory.create()
    bundle = make_bundle([(component, 1)])
    with pytest.raises(CatalogError, match="cannot contain itself"):
        bundle_set_components(actor=None, bundle=bundle, components=[(component, 1), (bundle, 1)])
    assert list(bundle.components.values_list("component_id", "quantity")) == [(component.pk, 1)]


@pytest.mark.parametrize("quantity", [0, -1, 1000])
def test_a_bundle_component_quantity_must_be_1_to_999(quantity: int) -> None:
    bundle = make_bundle([(SkuFactory.create(), 1)])
    with pytest.raises(CatalogError, match="from 1 to 999"):
        bundle_set_components(actor=None, bundle=bundle, components=[(SkuFactory.create(), quantity)])


def test_a_bundle_needs_a_component_and_lists_each_once() -> None:
    bundle = make_bundle([(SkuFactory.create(), 1)])
    component = SkuFactory.create(code="TWICE")
    with pytest.raises(CatalogError, match="at least one component"):
        bundle_set_components(actor=None, bundle=bundle, components=[])
    with pytest.raises(CatalogError, match="TWICE is listed twice"):
        bundle_set_components(actor=None, bundle=bundle, components=[(component, 1), (component, 2)])


def test_bundle_set_components_replaces_them_audits_and_marks_stock_dirty() -> None:
    old, new = SkuFactory.create(code="OLD"), SkuFactory.create(code="NEW")
    bundle = make_bundle([(old, 1)])

    bundle_set_components(actor=None, bundle=bundle, components=[(new, 3)])

    assert list(BundleItem.objects.filter(bundle=bundle).values_list("component__code", "quantity")) == [
        ("NEW", 3)
    ]
    assert AuditLog.objects.get(action="bundle.components").changes == {
        "components": [["OLD x1"], ["NEW x3"]]
    }
    assert StockDirty.objects.filter(sku=bundle).exists()


def test_bundle_set_components_on_a_single_sku_is_refused() -> None:
    single = SkuFactory.create(code="SINGLE")
    with pytest.raises(CatalogError, match="SINGLE is a single SKU"):
        bundle_set_components(actor=None, bundle=single, components=[(SkuFactory.create(), 1)])


def test_bundle_create_on_an_existing_product_with_a_taken_code_writes_nothing() -> None:
    product = ProductFactory.create()
    SkuFactory.create(code="TAKEN")
    with pytest.raises(CatalogError) as caught:
        bundle_create(
            actor=None, product=product, draft=SkuDraft(code="TAKEN"), components=[(SkuFactory.create(), 1)]
        )
    assert caught.value.fields == {"code": "SKU code TAKEN is already used by another SKU."}
    assert not Sku.objects.filter(kind=Sku.Kind.BUNDLE).exists()
