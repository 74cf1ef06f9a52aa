from __future__ import annotations

import factory

from catalog.models import BundleItem, Product, Sku


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"P{n:05d}")
    name = factory.Sequence(lambda n: f"울 라운드 니트 {n}")
    brand = "데모브랜드"
    category = "의류>니트"
    sale_price = 39000
    cost = 15000


class SkuFactory(factory.django.DjangoModelFactory[Sku]):
    class Meta:
        model = Sku

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"SKU-{n:05d}")
    option_label = "블랙 / S"
    option_values = factory.LazyFunction(lambda: {"색상": "블랙", "사이즈": "S"})
    barcode = factory.Sequence(lambda n: f"880{n:010d}")


def make_bundle(components: list[tuple[Sku, int]], code: str | None = None) -> Sku:
    """A bundle SKU (세트상품) of components x quantity."""
    bundle = SkuFactory.create(kind=Sku.Kind.BUNDLE, **({"code": code} if code else {}))
    for component, quantity in components:
        BundleItem.objects.create(bundle=bundle, component=component, quantity=quantity)
    return bundle
