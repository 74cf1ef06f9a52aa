"""Stock and product pushes against FakeNaver and FakeCoupang over real HTTP: the exposure
rules, bundles, equal values skipped, 재고 연동 제외, sold out, and no change lost to a 429 or
a 5xx."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Product, SkuChange
from catalog.services import sku_mark_changed
from channels.models import ChannelAccount, Listing, SyncJob
from channels.services_accounts import channel_account_pause
from channels.services_sync import (
    STOCK_PUSH_LOCK,
    SyncBusy,
    SyncRefused,
    channel_product_push,
    channel_stock_push,
    run_lock,
)
from inventory.models import StockDirty
from inventory.services import mark_stock_dirty, stock_adjust, stock_reserve
from tests.catalog.factories import make_bundle
from tests.channels.sync_support import (
    coupang,
    coupang_account,
    coupang_account_for,
    listing,
    naver,
    naver_account,
    naver_account_for,
    quick_http,
    real_adapters,
    stocked,
    warehouse,
)
from tests.fakes.coupang import FakeCoupang
from tests.fakes.naver import FakeNaver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

__all__ = ["coupang", "coupang_account", "naver", "naver_account", "quick_http", "real_adapters", "warehouse"]


def _dirty() -> set[int]:
    return set(StockDirty.objects.values_list("sku_id", flat=True))


@pytest.mark.parametrize(
    ("rule", "available", "shown"),
    [
        ({}, 10, 10),
        ({"stock_keep_back": 3}, 10, 7),
        ({"stock_keep_back": 12}, 10, 0),
        ({"stock_expose_percent": 50}, 9, 4),
        ({"stock_zero_threshold": 2}, 2, 0),
        ({"stock_zero_threshold": 2}, 3, 3),
        ({"stock_keep_back": 2, "stock_expose_percent": 50}, 10, 4),
    ],
)
def test_each_listing_gets_the_quantity_its_accounts_rule_exposes(
    naver: FakeNaver, real_adapters: None, quick_http: None, warehouse, rule, available: int, shown: int
) -> None:
    account = naver_account_for(naver, **rule)
    tee = stocked("TEE-BK-M", available, location=warehouse)
    listing(account, "4000000001", "30000001", tee)

    outcome = channel_stock_push()

    assert naver.stock[("4000000001", "30000001")] == shown
    assert Listing.objects.get().last_pushed_quantity == shown
    assert outcome.pushed == 1 and not _dirty()
    job = SyncJob.objects.get()
    assert (job.kind, job.status, job.updated) == ("stock_push", "succeeded", 1)


def test_safety_stock_and_reservations_count_against_what_is_shown(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse
) -> None:
    tee = stocked("TEE-BK-M", 10, location=warehouse, safety_stock=2)
    stock_reserve(reference="orderline:1", lines=[(tee.pk, 3)])
    listing(naver_account, "4000000001", "30000001", tee)

    channel_stock_push()

    assert naver.stock[("4000000001", "30000001")] == 5


def test_a_component_change_pushes_every_bundle_made_of_it(
    naver: FakeNaver,
    naver_account: ChannelAccount,
    coupang: FakeCoupang,
    coupang_account: ChannelAccount,
    warehouse,
) -> None:
    socks = stocked("SOCK-3", 7, location=warehouse)
    cap = stocked("CAP-1", 10, location=warehouse)
    gift = make_bundle([(socks, 2), (cap, 1)], code="GIFT-SET")
    naver.add_product("4000000009")  # a product without options: its stock is on the product
    listing(naver_account, "4000000009", "", gift)
    listing(coupang_account, "13000000009", "70000000009", gift)
    channel_stock_push()
    assert naver.stock[("4000000009", "")] == 3 and coupang.quantities["70000000009"] == 3

    # only the component is marked dirty by the stock change
    stock_adjust(sku=socks, location=warehouse, delta=-3, reason="파손")
    assert _dirty() == {socks.pk}

    channel_stock_push()

    assert naver.stock[("4000000009", "")] == 2 and coupang.quantities["70000000009"] == 2
    assert not _dirty()


def test_listings_whose_last_pushed_value_is_equal_are_skipped(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse
) -> None:
    tee = stocked("TEE-BK-M", 4, location=warehouse)
    listing(naver_account, "4000000001", "30000001", tee)
    channel_stock_push()
    pushes = len(naver.stock_pushes)

    mark_stock_dirty([tee.pk])  # marked, but the quantity did not change
    outcome = channel_stock_push()

    assert len(naver.stock_pushes) == pushes and outcome.skipped == 1 and outcome.pushed == 0
    assert not outcome.jobs  # nothing to send: no job in the monitor
    assert not _dirty()

    forced = channel_stock_push(full=True, force=True)
    assert len(naver.stock_pushes) == pushes + 1 and forced.pushed == 1
    assert SyncJob.objects.filter(kind=SyncJob.Kind.RECONCILE, updated=1).exists()


def test_excluded_listings_and_paused_or_push_off_accounts_are_left_alone(
    naver: FakeNaver, coupang: FakeCoupang, real_adapters: None, quick_http: None, warehouse
) -> None:
    tee = stocked("TEE-BK-M", 4, location=warehouse)
    active = naver_account_for(naver)
    paused = coupang_account_for(coupang, name="쿠팡 휴면")
    push_off = naver_account_for(naver, name="스마트스토어 2호점", stock_push_enabled=False)
    channel_account_pause(actor=None, account=paused)
    listing(active, "4000000001", "30000001", tee)
    listing(active, "4000000002", "30000002", tee, stock_sync_excluded=True)
    listing(paused, "13000000001", "70000000001", tee)
    listing(push_off, "4000000003", "30000003", tee)

    channel_stock_push()

    assert set(naver.stock) == {("4000000001", "30000001")}
    assert not coupang.quantity_pushes
    assert not _dirty()
    with pytest.raises(SyncRefused, match="paused"):
        channel_stock_push(account_id=paused.pk)
    with pytest.raises(SyncRefused, match="turned off"):
        channel_stock_push(account_id=push_off.pk)


def test_when_available_reaches_zero_every_listing_gets_zero(
    naver: FakeNaver,
    naver_account: ChannelAccount,
    coupang: FakeCoupang,
    coupang_account: ChannelAccount,
    warehouse,
) -> None:
    ChannelAccount.objects.filter(pk=naver_account.pk).update(stock_keep_back=5)  # shows 0 already
    tee = stocked("TEE-BK-M", 1, location=warehouse)
    listing(naver_account, "4000000001", "30000001", tee, last_pushed_quantity=3)
    listing(coupang_account, "13000000001", "70000000001", tee)
    channel_stock_push()
    assert coupang.quantities["70000000001"] == 1

    stock_reserve(reference="orderline:99", lines=[(tee.pk, 1)])
    channel_stock_push()

    assert naver.stock[("4000000001", "30000001")] == 0
    assert coupang.quantities["70000000001"] == 0
    assert set(Listing.objects.values_list("last_pushed_quantity", flat=True)) == {0}


def test_a_sold_out_or_inactive_sku_shows_zero(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse
) -> None:
    tee = stocked("TEE-BK-M", 8, location=warehouse, status=Product.Status.SOLD_OUT)
    cap = stocked("CAP-1", 8, location=warehouse, is_active=False)
    listing(naver_account, "4000000001", "30000001", tee)
    listing(naver_account, "4000000001", "30000002", cap)

    channel_stock_push()

    assert naver.stock[("4000000001", "30000001")] == 0 and naver.stock[("4000000001", "30000002")] == 0


def test_a_rate_limit_leaves_the_sku_dirty_and_the_next_run_sends_the_true_number(
    naver: FakeNaver,
    naver_account: ChannelAccount,
    coupang: FakeCoupang,
    coupang_account: ChannelAccount,
    warehouse,
) -> None:
    tee = stocked("TEE-BK-M", 6, location=warehouse)
    listing(naver_account, "4000000001", "30000001", tee)
    listing(coupang_account, "13000000001", "70000000001", tee)
    # Naver keeps answering 429 for longer than the session retries
    naver.fail_next(FakeNaver.rate_limited(retry_after=0.01), path="/option-stock", times=3)

    outcome = channel_stock_push()

    assert coupang.quantities["70000000001"] == 6  # the other channel went on
    assert ("4000000001", "30000001") not in naver.stock
    assert _dirty() == {tee.pk} and outcome.kept_dirty == 1
    naver_job = SyncJob.objects.get(account=naver_account)
    assert naver_job.status == SyncJob.Status.FAILED and naver_job.error
    assert ChannelAccount.objects.get(pk=naver_account.pk).status == ChannelAccount.Status.ACTIVE

    stock_adjust(sku=tee, location=warehouse, delta=-2, reason="실사")
    channel_stock_push()

    assert naver.stock[("4000000001", "30000001")] == 4 and coupang.quantities["70000000001"] == 4
    assert not _dirty()


def test_a_server_error_on_one_item_keeps_that_sku_dirty_and_pushes_the_rest(
    coupang: FakeCoupang, coupang_account: ChannelAccount, warehouse
) -> None:
    tee = stocked("TEE-BK-M", 6, location=warehouse)
    cap = stocked("CAP-1", 2, location=warehouse)
    listing(coupang_account, "13000000001", "70000000001", tee)
    listing(coupang_account, "13000000002", "70000000002", cap)
    coupang.fail_next(FakeCoupang.server_error(503), path="/70000000001/quantities")

    outcome = channel_stock_push()

    assert coupang.quantities == {"70000000002": 2}
    assert _dirty() == {tee.pk}
    failed = Listing.objects.get(external_option_id="70000000001")
    assert failed.last_pushed_quantity is None and "503" in failed.push_error and failed.push_error_at
    assert outcome.failed == 1 and SyncJob.objects.get().status == SyncJob.Status.PARTIAL

    channel_stock_push()

    assert coupang.quantities == {"70000000001": 6, "70000000002": 2}
    failed.refresh_from_db()
    assert failed.push_error == "" and failed.last_pushed_quantity == 6


def test_a_rejected_item_is_recorded_and_not_retried_every_few_seconds(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse
) -> None:
    tee = stocked("TEE-BK-M", 6, location=warehouse)
    cap = stocked("CAP-1", 2, location=warehouse)
    listing(naver_account, "4000000001", "30000001", tee)
    listing(naver_account, "4000000002", "30000002", cap)
    naver.fail_items({"4000000001": ("PRODUCT_DELETED", "판매 종료된 상품입니다.")})

    outcome = channel_stock_push()

    assert naver.stock == {("4000000002", "30000002"): 2}
    rejected = Listing.objects.get(external_product_id="4000000001")
    assert rejected.push_error.startswith("판매 종료된 상품입니다.")
    assert rejected.push_error.endswith("(PRODUCT_DELETED)")
    assert outcome.failed == 1 and not _dirty()
    job = SyncJob.objects.get()
    assert job.status == SyncJob.Status.PARTIAL and "판매 종료된 상품입니다." in job.params["failed_items"]

    # the hourly reconciliation tries it again (its last pushed value still differs)
    naver.item_failures.clear()
    channel_stock_push(full=True)
    assert naver.stock[("4000000001", "30000001")] == 6


def test_a_sku_marked_again_during_a_push_stays_dirty(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    tee = stocked("TEE-BK-M", 6, location=warehouse)
    listing(naver_account, "4000000001", "30000001", tee)
    from channels.services_sync import push as services_sync

    real = services_sync.available_map

    def change_while_pushing(sku_ids):
        found = real(sku_ids)
        # an order is reserved right after the push read the stock
        stock_reserve(reference="orderline:7", lines=[(tee.pk, 1)])
        return found

    monkeypatch.setattr(services_sync, "available_map", change_while_pushing)
    channel_stock_push()
    monkeypatch.setattr(services_sync, "available_map", real)

    assert naver.stock[("4000000001", "30000001")] == 6  # what was read
    assert _dirty() == {tee.pk}  # the later mark survived the push
    channel_stock_push()
    assert naver.stock[("4000000001", "30000001")] == 5 and not _dirty()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reservation_committed_between_the_push_reading_and_clearing_is_pushed_later(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a transaction on Postgres a reservation is the one-statement function, which
    leaves an unclaimed mark as it is: the push must claim the marks before it reads the
    stock, or a reservation committed after its read would have its mark cleared with it."""
    tee = stocked("TEE-BK-M", 6, location=warehouse)
    listing(naver_account, "4000000001", "30000001", tee)
    assert _dirty() == {tee.pk}
    from channels.services_sync import push as services_sync

    real = services_sync.available_map

    def reserve_after_reading(sku_ids):
        found = real(sku_ids)
        assert stock_reserve(reference="orderline:7", lines=[(tee.pk, 1)])  # commits on its own
        return found

    monkeypatch.setattr(services_sync, "available_map", reserve_after_reading)
    channel_stock_push()
    monkeypatch.setattr(services_sync, "available_map", real)

    assert naver.stock[("4000000001", "30000001")] == 6  # what was read
    assert _dirty() == {tee.pk}  # the reservation's mark survived the clear
    stock_reserve(reference="orderline:8", lines=[(tee.pk, 1)])  # an unclaimed mark: left as is
    assert _dirty() == {tee.pk}
    channel_stock_push()
    assert naver.stock[("4000000001", "30000001")] == 4 and not _dirty()


def test_an_auth_refusal_turns_the_account_to_error_and_scheduled_pushes_skip_it(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse
) -> None:
    tee = stocked("TEE-BK-M", 6, location=warehouse)
    listing(naver_account, "4000000001", "30000001", tee)
    naver.client_secret = "$2a$04$abcdefghijklmnopqrstuu"

    outcome = channel_stock_push()

    assert outcome.error is not None
    account = ChannelAccount.objects.get(pk=naver_account.pk)
    assert account.status == ChannelAccount.Status.ERROR and account.last_error
    calls = len(naver.requests)
    channel_stock_push()  # the next scheduled push leaves the account alone
    assert len(naver.requests) == calls


def test_an_account_push_leaves_the_marks_for_the_other_accounts(
    naver: FakeNaver,
    naver_account: ChannelAccount,
    coupang: FakeCoupang,
    coupang_account: ChannelAccount,
    warehouse,
) -> None:
    tee = stocked("TEE-BK-M", 6, location=warehouse)
    listing(naver_account, "4000000001", "30000001", tee)
    listing(coupang_account, "13000000001", "70000000001", tee)

    channel_stock_push(account_id=naver_account.pk)

    assert naver.stock[("4000000001", "30000001")] == 6 and not coupang.quantity_pushes
    assert _dirty() == {tee.pk}
    channel_stock_push()
    assert coupang.quantities["70000000001"] == 6 and not _dirty()
    assert len(naver.stock_pushes) == 1  # equal value: not sent again


def test_a_push_waits_for_the_lock_or_gives_way(naver_account: ChannelAccount, warehouse) -> None:
    tee = stocked("TEE-BK-M", 6, location=warehouse)
    listing(naver_account, "4000000001", "30000001", tee)
    with run_lock(STOCK_PUSH_LOCK, ttl=timedelta(minutes=1)), pytest.raises(SyncBusy):
        channel_stock_push(lock_wait=0)
    assert _dirty() == {tee.pk}


def test_the_reconciliation_pushes_listings_that_were_never_pushed(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse
) -> None:
    tee = stocked("TEE-BK-M", 6, location=warehouse)
    StockDirty.objects.all().delete()  # a mark lost
    listing(naver_account, "4000000001", "30000001", tee)
    listing(naver_account, "4000000002", "", None)  # not linked: nothing to send

    outcome = channel_stock_push(full=True)

    assert naver.stock == {("4000000001", "30000001"): 6} and outcome.pushed == 1


# --- product push ---------------------------------------------------------------------------------


def test_price_and_sale_state_changes_reach_the_channels(
    naver: FakeNaver,
    naver_account: ChannelAccount,
    coupang: FakeCoupang,
    coupang_account: ChannelAccount,
    warehouse,
) -> None:
    tee = stocked("TEE-BK-M", 5, location=warehouse)
    tee_l = stocked("TEE-BK-L", 5, location=warehouse, product=tee.product)
    listing(naver_account, "4000000001", "30000001", tee)
    listing(naver_account, "4000000001", "30000002", tee_l)
    listing(coupang_account, "13000000001", "70000000001", tee)
    channel_stock_push()
    Product.objects.filter(pk=tee.product_id).update(sale_price=29900)
    type(tee).objects.filter(pk=tee.pk).update(status=Product.Status.SOLD_OUT, extra_price=3000)
    sku_mark_changed([tee.pk])

    outcome = channel_product_push()

    assert outcome.ok and not SkuChange.objects.exists()
    assert coupang.prices["70000000001"] == 32900 and coupang.on_sale["70000000001"] is False
    # Naver: the product's sale price, and the option priced as what it adds to it
    assert naver.sale_prices["4000000001"] == 29900
    assert naver.option_extras[("4000000001", "30000001")] == 3000
    assert naver.prices[("4000000001", "30000001")] == 32900
    # the Naver product still sells its other option: it is not suspended, the sold-out one shows 0
    assert "4000000001" not in naver.sale_status
    channel_stock_push()
    assert naver.stock[("4000000001", "30000001")] == 0 and naver.stock[("4000000001", "30000002")] == 5
    assert coupang.quantities["70000000001"] == 0
    pushed = Listing.objects.get(account=coupang_account)
    assert pushed.last_pushed_price == 32900 and pushed.status == Listing.Status.SUSPENDED

    # nothing changed since: nothing is sent again
    sku_mark_changed([tee.pk])
    calls = len(coupang.requests)
    assert channel_product_push().pushed == 0 and len(coupang.requests) == calls


def test_a_product_sold_out_everywhere_is_suspended_on_naver(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse
) -> None:
    tee = stocked("TEE-BK-M", 5, location=warehouse, status=Product.Status.SOLD_OUT)
    listing(naver_account, "4000000001", "30000001", tee, last_pushed_price=39000)
    sku_mark_changed([tee.pk])

    channel_product_push()

    assert naver.sale_status == {"4000000001": "SUSPENSION"}
    assert Listing.objects.get().status == Listing.Status.SUSPENDED
    pushed_at = Listing.objects.get().last_pushed_at
    assert pushed_at is not None and timezone.now() - pushed_at < timedelta(minutes=1)
