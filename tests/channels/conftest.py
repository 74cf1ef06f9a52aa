from __future__ import annotations

from collections.abc import Iterator

import pytest

from channels.registry import adapters
from tests.channels.fakeshop import FakeShop

FAKE_ADAPTERS = ["tests.channels.fakeshop.FakeShopAdapter"]


@pytest.fixture
def fake_adapters(settings) -> Iterator[None]:
    """Only the test adapter is registered (the registry caches: clear it around the test)."""
    settings.OMS_CHANNEL_ADAPTERS = FAKE_ADAPTERS
    adapters.cache_clear()
    yield
    adapters.cache_clear()


@pytest.fixture
def fake_shop() -> Iterator[FakeShop]:
    shop = FakeShop()
    shop.start()
    yield shop
    shop.stop()


@pytest.fixture
def fast_retries(settings) -> None:
    settings.OMS_CHANNEL_HTTP_BACKOFF = 0.01
    settings.OMS_CHANNEL_HTTP_BACKOFF_CAP = 0.05
