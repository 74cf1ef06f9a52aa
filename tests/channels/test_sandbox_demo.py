"""The sandbox demo loader: the 샌드박스 마켓 account with an encrypted token the sandbox
accepts, demo products listed in the sandbox and linked to the account's listings (so the stock
push finds them), a few first orders; idempotent."""

from __future__ import annotations

import pytest

from catalog.models import BundleItem, Sku
from channels.crypto import decrypt_credentials
from channels.models import ChannelAccount, Listing, Marketplace
from channels.sandbox.services import sandbox_key_revoke, token_hash
from channels.sandbox_demo import ACCOUNT_NAME, sandbox_demo_load
from channels.sandbox_models import SandboxApiKey, SandboxListing, SandboxOrder
from inventory.models import StockDirty
from inventory.selectors import available_map
from inventory.services import stock_receive
from tests.catalog.factories import ProductFactory, SkuFactory
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox_on(settings, monkeypatch) -> None:
    settings.OMS_SANDBOX_ENABLED = True
    monkeypatch.setenv("PORT", "8123")


@pytest.fixture
def demo_skus() -> list[Sku]:
    location = LocationFactory.create()
    shirt = ProductFactory.create(code="DM-TS01", name="오버핏 코튼 티셔츠", sale_price=19_900)
    skus = [
        SkuFactory.create(
            product=shirt, code=f"DM-TS01-BK-{size}", option_values={"색상": "블랙", "사이즈": size}
        )
        for size in ("M", "L", "XL")
    ]
    for sku, quantity in zip(skus, (12, 0, 3), strict=True):
        if quantity:
            stock_receive(sku=sku, location=location, quantity=quantity, reason="입고")
    mugs = ProductFactory.create(code="DM-SET01", name="머그컵 2개 세트", sale_price=27_000)
    bundle = SkuFactory.create(product=mugs, code="DM-SET01", kind=Sku.Kind.BUNDLE, option_values={})
    BundleItem.objects.create(bundle=bundle, component=skus[0], quantity=2)
    return [*skus, bundle]


def test_the_demo_account_points_at_the_local_sandbox_with_a_token_it_accepts(demo_skus) -> None:
    result = sandbox_demo_load()
    assert result.account_created and result.token_issued
    account = ChannelAccount.objects.get(name=ACCOUNT_NAME)
    assert account.marketplace == Marketplace.SANDBOX
    assert account.base_url == "http://127.0.0.1:8123/sandbox/api"
    assert account.collect_interval_minutes == 1
    token = decrypt_credentials(account.credentials_encrypted)["api_token"]
    assert token not in account.credentials_encrypted
    assert SandboxApiKey.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True).exists()


def test_demo_products_are_listed_linked_and_marked_for_the_stock_push(demo_skus) -> None:
    sandbox_demo_load()
    account = ChannelAccount.objects.get(name=ACCOUNT_NAME)
    listings = {ln.seller_code: ln for ln in Listing.objects.filter(account=account)}
    assert set(listings) == {s.code for s in demo_skus}
    assert all(listings[s.code].sku_id == s.pk for s in demo_skus)
    sandbox = {ln.seller_code: ln for ln in SandboxListing.objects.all()}
    assert {(ln.external_product_id, ln.external_option_id) for ln in listings.values()} == {
        (s.product_id, s.option_id) for s in sandbox.values()
    }
    assert sandbox["DM-TS01-BK-M"].option_text == "색상: 블랙 / 사이즈: M"
    assert sandbox["DM-TS01-BK-M"].price == 19_900
    # The sandbox opened with the available stock, less what its first orders took.
    available = available_map([s.pk for s in demo_skus])
    sold = {
        s.code: sum(ln.quantity for ln in SandboxListing.objects.get(seller_code=s.code).order_lines.all())
        for s in demo_skus
    }
    assert sandbox["DM-TS01-BK-L"].stock_quantity == 0 and sold["DM-TS01-BK-L"] == 0
    assert sandbox["DM-TS01-BK-XL"].stock_quantity == available[demo_skus[2].pk] - sold["DM-TS01-BK-XL"]
    assert set(StockDirty.objects.values_list("sku_id", flat=True)) >= {s.pk for s in demo_skus}


def test_first_orders_are_placed_once_and_a_second_load_changes_nothing(demo_skus) -> None:
    first = sandbox_demo_load()
    assert first.orders_created == 5 and first.listings_created == 4
    orders = set(SandboxOrder.objects.values_list("order_no", flat=True))
    account = ChannelAccount.objects.get(name=ACCOUNT_NAME)
    again = sandbox_demo_load()
    assert (again.account_created, again.token_issued, again.listings_created, again.orders_created) == (
        False,
        False,
        0,
        0,
    )
    assert set(SandboxOrder.objects.values_list("order_no", flat=True)) == orders
    reloaded = ChannelAccount.objects.get(pk=account.pk)
    assert reloaded.credentials_encrypted == account.credentials_encrypted
    assert SandboxApiKey.objects.count() == 1


def test_a_lost_token_is_reissued_and_the_base_url_follows_the_port(demo_skus, monkeypatch) -> None:
    sandbox_demo_load()
    sandbox_key_revoke(actor=None, key=SandboxApiKey.objects.get())
    monkeypatch.setenv("PORT", "8200")
    result = sandbox_demo_load()
    assert result.token_issued
    account = ChannelAccount.objects.get(name=ACCOUNT_NAME)
    token = decrypt_credentials(account.credentials_encrypted)["api_token"]
    assert SandboxApiKey.objects.get(token_hash=token_hash(token)).revoked_at is None
    assert account.base_url == "http://127.0.0.1:8200/sandbox/api"


def test_a_custom_base_url_is_left_alone(demo_skus, monkeypatch) -> None:
    sandbox_demo_load()
    ChannelAccount.objects.filter(name=ACCOUNT_NAME).update(base_url="https://sandbox.example.com/api")
    monkeypatch.setenv("PORT", "8300")
    sandbox_demo_load()
    assert ChannelAccount.objects.get(name=ACCOUNT_NAME).base_url == "https://sandbox.example.com/api"


def test_nothing_is_loaded_while_the_sandbox_is_off(demo_skus, settings) -> None:
    settings.OMS_SANDBOX_ENABLED = False
    result = sandbox_demo_load()
    assert "off" in result.summary()
    assert not ChannelAccount.objects.exists() and not SandboxListing.objects.exists()
