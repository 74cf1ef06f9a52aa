"""Shared set-up for the sync service, task, command and end-to-end tests: fake Naver and
Coupang servers over real HTTP, accounts pointed at them, stocked SKUs and linked listings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from catalog.models import Sku
from channels.adapters.coupang import CoupangAdapter
from channels.adapters.naver import NaverCommerceAdapter
from channels.models import ChannelAccount, Listing
from channels.registry import adapters
from channels.services_accounts import channel_account_create
from inventory.models import Location
from inventory.services import stock_receive
from tests.catalog.factories import SkuFactory
from tests.fakes.coupang import FakeCoupang
from tests.fakes.naver import FakeNaver
from tests.inventory.factories import LocationFactory

# What the real adapters are registered as (the test settings may replace the list).
REAL_ADAPTERS = [
    "channels.adapters.naver.NaverCommerceAdapter",
    "channels.adapters.coupang.CoupangAdapter",
]


@pytest.fixture
def real_adapters(settings) -> Iterator[None]:
    settings.OMS_CHANNEL_ADAPTERS = REAL_ADAPTERS
    adapters.cache_clear()
    yield
    adapters.cache_clear()


@pytest.fixture
def quick_http(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Marketplace rate limits and retry backoff shrunk so tests run in milliseconds; the code
    paths (token bucket, retries, Retry-After) stay the same."""
    monkeypatch.setattr(NaverCommerceAdapter, "rate_per_second", 500.0)
    monkeypatch.setattr(CoupangAdapter, "rate_per_second", 500.0)
    settings.OMS_CHANNEL_HTTP_BACKOFF = 0.01
    settings.OMS_CHANNEL_HTTP_BACKOFF_CAP = 0.05
    settings.OMS_CHANNEL_HTTP_MAX_TRIES = 3


@pytest.fixture
def naver() -> Iterator[FakeNaver]:
    with FakeNaver() as fake:
        yield fake


@pytest.fixture
def coupang() -> Iterator[FakeCoupang]:
    with FakeCoupang() as fake:
        yield fake


def naver_account_for(fake: FakeNaver, name: str = "스마트스토어 본점", **settings: object) -> ChannelAccount:
    return channel_account_create(
        actor=None,
        marketplace="smartstore",
        name=name,
        base_url=fake.api_url,
        credentials={"client_id": fake.client_id, "client_secret": fake.client_secret},
        settings=settings or None,
    )


def coupang_account_for(fake: FakeCoupang, name: str = "쿠팡 윙", **settings: object) -> ChannelAccount:
    return channel_account_create(
        actor=None,
        marketplace="coupang",
        name=name,
        base_url=fake.api_url,
        credentials=fake.credentials,
        settings=settings or None,
    )


@pytest.fixture
def naver_account(naver: FakeNaver, real_adapters: None, quick_http: None, db: None) -> ChannelAccount:
    return naver_account_for(naver)


@pytest.fixture
def coupang_account(coupang: FakeCoupang, real_adapters: None, quick_http: None, db: None) -> ChannelAccount:
    return coupang_account_for(coupang)


@pytest.fixture
def warehouse(db: None) -> Location:
    return LocationFactory.create()


def stocked(code: str, quantity: int, *, location: Location, **fields: object) -> Sku:
    sku = SkuFactory.create(code=code, **fields)
    if quantity:
        stock_receive(sku=sku, location=location, quantity=quantity, reason="test")
    return sku


def listing(
    account: ChannelAccount, product_id: str, option_id: str, sku: Sku | None, **fields: object
) -> Listing:
    return Listing.objects.create(
        account=account,
        external_product_id=product_id,
        external_option_id=option_id,
        product_name=str(fields.pop("product_name", "기본 반팔 티셔츠")),
        sku=sku,
        linked_by=Listing.LinkedBy.MANUAL if sku else Listing.LinkedBy.NONE,
        **fields,
    )
