from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from channels.crypto import decrypt_credentials
from channels.models import CallLog, ChannelAccount, Listing, OptionMapping, OptionMappingItem
from channels.services_accounts import (
    AccountError,
    ListingSeen,
    RetryRefused,
    calllog_prune,
    channel_account_check_auth,
    channel_account_create,
    channel_account_pause,
    channel_account_record_error,
    channel_account_record_ok,
    channel_account_resume,
    channel_account_update,
    listing_autolink,
    listing_link_sku,
    listing_record_seen,
    listing_set_stock_sync,
    retryable_kinds,
    sync_job_finish,
    sync_job_retry,
    sync_job_start,
)
from inventory.models import StockDirty
from oms.models import AuditLog
from tests.catalog.factories import ProductFactory, SkuFactory
from tests.channels.factories import ChannelAccountFactory, ListingFactory, SyncJobFactory
from tests.channels.fakeshop import SHOP_CODE, FakeShop

pytestmark = pytest.mark.django_db

SECRET = "sk_live_feedfacecafebeef01"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _shop_account(shop: FakeShop | None = None, **extra) -> ChannelAccount:
    return channel_account_create(
        actor=None,
        marketplace=SHOP_CODE,
        name=extra.pop("name", "테스트 상점"),
        base_url=shop.base_url if shop else "",
        credentials={
            "client_id": shop.client_id if shop else "client-1",
            "client_secret": shop.client_secret if shop else SECRET,
        },
        **extra,
    )


# --- accounts ------------------------------------------------------------------------------------


def test_exposed_quantity_follows_the_accounts_rule() -> None:
    account = ChannelAccount(stock_keep_back=2, stock_expose_percent=50, stock_zero_threshold=3)
    assert [account.exposed_quantity(n) for n in (-1, 0, 3, 4, 10, 11)] == [0, 0, 0, 1, 4, 4]
    plain = ChannelAccount()
    assert [plain.exposed_quantity(n) for n in (0, 1, 7)] == [0, 1, 7]


def test_create_encrypts_credentials_and_audits_only_field_names(fake_adapters, admin_user) -> None:
    account = channel_account_create(
        actor=admin_user,
        marketplace=SHOP_CODE,
        name=" 본점 ",
        credentials={"client_id": "client-1", "client_secret": SECRET, "webhook_secret": None},
        settings={"collect_interval_minutes": 10, "commission_rate": Decimal("5.5")},
    )
    assert account.name == "본점" and account.collect_interval_minutes == 10
    assert decrypt_credentials(account.credentials_encrypted) == {
        "client_id": "client-1",
        "client_secret": SECRET,
    }
    entry = AuditLog.objects.get(action="channel_account.create")
    assert entry.actor == admin_user
    assert entry.changes["credentials"] == "client_id, client_secret"
    assert SECRET not in str(entry.changes)


def test_create_refuses_missing_or_unknown_credentials_and_writes_nothing(fake_adapters) -> None:
    with pytest.raises(AccountError) as missing:
        channel_account_create(actor=None, marketplace=SHOP_CODE, name="A", credentials={"client_id": "c"})
    assert set(missing.value.fields) == {"client_secret"}
    with pytest.raises(AccountError, match="Unknown credential field"):
        channel_account_create(
            actor=None,
            marketplace=SHOP_CODE,
            name="A",
            credentials={"client_id": "c", "client_secret": "s", "pin": "1"},
        )
    with pytest.raises(AccountError, match="no API connection"):
        channel_account_create(actor=None, marketplace="other", name="A", credentials={"api_key": "x"})
    with pytest.raises(AccountError) as bad_url:
        channel_account_create(
            actor=None,
            marketplace=SHOP_CODE,
            name="A",
            base_url="ftp://x",
            credentials={"client_id": "c", "client_secret": "s"},
        )
    assert "base_url" in bad_url.value.fields
    assert not ChannelAccount.objects.exists() and not AuditLog.objects.exists()


def test_update_keeps_unsent_secrets_clears_empty_ones_and_records_which_changed(
    fake_adapters, admin_user
) -> None:
    account = _shop_account()
    account = channel_account_update(
        actor=admin_user,
        account=account,
        credentials={"client_id": "client-2", "client_secret": None, "webhook_secret": "whsec_abcdefgh"},
    )
    assert decrypt_credentials(account.credentials_encrypted) == {
        "client_id": "client-2",
        "client_secret": SECRET,
        "webhook_secret": "whsec_abcdefgh",
    }
    assert AuditLog.objects.filter(action="channel_account.update").latest("id").changes == {
        "credentials": "client_id, webhook_secret"
    }
    account = channel_account_update(actor=admin_user, account=account, credentials={"webhook_secret": ""})
    assert "webhook_secret" not in decrypt_credentials(account.credentials_encrypted)
    with pytest.raises(AccountError) as required:
        channel_account_update(actor=admin_user, account=account, credentials={"client_secret": ""})
    assert set(required.value.fields) == {"client_secret"}
    assert SECRET not in " ".join(str(a.changes) for a in AuditLog.objects.all())


def test_update_changes_settings_and_unchanged_values_write_nothing(fake_adapters, admin_user) -> None:
    account = _shop_account()
    before = AuditLog.objects.count()
    channel_account_update(
        actor=admin_user, account=account, name="테스트 상점", settings={"collect_interval_minutes": 5}
    )
    assert AuditLog.objects.count() == before
    account = channel_account_update(
        actor=admin_user,
        account=account,
        base_url="http://127.0.0.1:8108/sandbox/",
        settings={"stock_keep_back": 3},
    )
    assert account.base_url == "http://127.0.0.1:8108/sandbox"
    assert AuditLog.objects.latest("id").changes == {
        "base_url": ["", "http://127.0.0.1:8108/sandbox"],
        "stock_keep_back": [0, 3],
    }
    with pytest.raises(AccountError) as bad:
        channel_account_update(actor=admin_user, account=account, settings={"stock_expose_percent": 150})
    assert "stock_expose_percent" in bad.value.fields


def test_changing_the_exposure_rule_marks_the_accounts_skus_for_a_stock_push(fake_adapters) -> None:
    account = _shop_account()
    linked = ListingFactory.create(account=account, sku=SkuFactory.create(), linked_by="manual")
    ListingFactory.create(
        account=account, sku=SkuFactory.create(), linked_by="manual", stock_sync_excluded=True
    )
    ListingFactory.create(account=account)
    channel_account_update(actor=None, account=account, settings={"stock_expose_percent": 80})
    assert list(StockDirty.objects.values_list("sku_id", flat=True)) == [linked.sku_id]


def test_new_credentials_take_an_account_out_of_error(fake_adapters) -> None:
    account = _shop_account()
    channel_account_record_error(account_id=account.pk, message="expired key", auth=True)
    account.refresh_from_db()
    assert account.status == ChannelAccount.Status.ERROR and account.last_error == "expired key"
    account = channel_account_update(
        actor=None, account=account, credentials={"client_secret": "sk_new_0123456789"}
    )
    assert account.status == ChannelAccount.Status.ACTIVE


def _errored_account_with_listings() -> tuple[ChannelAccount, Listing, Listing]:
    account = _shop_account()
    linked = ListingFactory.create(account=account, sku=SkuFactory.create(), linked_by="manual")
    excluded = ListingFactory.create(
        account=account, sku=SkuFactory.create(), linked_by="manual", stock_sync_excluded=True
    )
    ListingFactory.create(account=account)  # not linked to a SKU: nothing to push
    channel_account_record_error(account_id=account.pk, message="expired key", auth=True)
    StockDirty.objects.all().delete()
    return account, linked, excluded


def test_an_account_recovering_on_its_own_marks_its_listings_for_the_stock_push(fake_adapters) -> None:
    # given an account in error whose stock changed meanwhile (the push skipped it)
    account, linked, _excluded = _errored_account_with_listings()
    # when a call works again (a collection, a push or the connection test)
    channel_account_record_ok(account_id=account.pk)
    # then it is active and every linked, synced listing's SKU is pushed next
    account.refresh_from_db()
    assert account.status == ChannelAccount.Status.ACTIVE
    assert list(StockDirty.objects.values_list("sku_id", flat=True)) == [linked.sku_id]
    # and a healthy account's every good call marks nothing
    StockDirty.objects.all().delete()
    channel_account_record_ok(account_id=account.pk)
    assert not StockDirty.objects.exists()


def test_new_credentials_mark_the_recovered_accounts_listings_for_the_stock_push(fake_adapters) -> None:
    account, linked, _excluded = _errored_account_with_listings()
    channel_account_update(actor=None, account=account, credentials={"client_secret": "sk_new_0123456789"})
    assert list(StockDirty.objects.values_list("sku_id", flat=True)) == [linked.sku_id]


def test_a_recovered_account_without_stock_push_marks_nothing(fake_adapters) -> None:
    account, _linked, _excluded = _errored_account_with_listings()
    ChannelAccount.objects.filter(pk=account.pk).update(stock_push_enabled=False)
    channel_account_record_ok(account_id=account.pk)
    assert not StockDirty.objects.exists()


def test_pause_and_resume_are_audited(fake_adapters, admin_user) -> None:
    account = _shop_account()
    account = channel_account_pause(actor=admin_user, account=account)
    assert account.status == "paused" and not account.syncs
    channel_account_pause(actor=admin_user, account=account)  # twice: one audit row
    account = channel_account_resume(actor=admin_user, account=account)
    assert account.status == "active" and account.syncs
    assert list(
        AuditLog.objects.filter(action__in=["channel_account.pause", "channel_account.resume"])
        .values_list("action", flat=True)
        .order_by("id")
    ) == ["channel_account.pause", "channel_account.resume"]


def test_a_non_auth_error_is_noted_without_stopping_the_account(fake_adapters) -> None:
    account = _shop_account()
    channel_account_record_error(account_id=account.pk, message=f"timeout with {SECRET}", auth=False)
    account.refresh_from_db()
    assert account.status == "active"
    assert account.last_error == "timeout with [redacted]"


# --- connection test -------------------------------------------------------------------------


def test_connection_test_passes_through_the_real_session(fake_adapters, fake_shop, admin_user) -> None:
    account = _shop_account(fake_shop)
    channel_account_record_error(account_id=account.pk, message="old", auth=True)
    result = channel_account_check_auth(actor=admin_user, account=account)
    assert result.ok and result.message == "테스트 상점 (basic)"
    job = result.job
    assert (job.kind, job.status, job.triggered_by) == ("auth_check", "succeeded", admin_user)
    assert list(CallLog.objects.filter(job=job).values_list("path", "status")) == [
        ("/oauth/token", 200),
        ("/v1/me", 200),
    ]
    account.refresh_from_db()
    assert account.status == "active"


def test_refused_credentials_fail_the_test_and_put_the_account_in_error(fake_adapters, fake_shop) -> None:
    account = _shop_account(fake_shop)
    channel_account_update(actor=None, account=account, credentials={"client_secret": SECRET})
    result = channel_account_check_auth(actor=None, account=account)
    assert not result.ok and result.message == "invalid client credentials"
    account.refresh_from_db()
    assert account.status == "error" and account.last_error == "invalid client credentials"
    assert result.job.status == "failed" and result.job.error == "invalid client credentials"
    rows = " ".join(
        f"{c.path}{c.request_excerpt}{c.response_excerpt}{c.error}" for c in CallLog.objects.all()
    )
    assert SECRET not in rows and "client_secret=[redacted]" in rows


def test_an_unreachable_marketplace_fails_the_test_but_leaves_the_account_alone(
    fake_adapters, settings
) -> None:
    settings.OMS_CHANNEL_HTTP_MAX_TRIES = 1
    account = _shop_account()
    channel_account_update(actor=None, account=account, base_url="http://127.0.0.1:9")
    result = channel_account_check_auth(actor=None, account=account)
    assert not result.ok and "could not connect" in result.message
    account.refresh_from_db()
    assert account.status == "active"


def test_an_excel_only_account_has_nothing_to_test(fake_adapters) -> None:
    account = channel_account_create(actor=None, marketplace="11st", name="11번가")
    result = channel_account_check_auth(actor=None, account=account)
    assert not result.ok and "no API connection" in result.message


# --- sync jobs -------------------------------------------------------------------------------


def test_sync_job_finish_sets_the_status_from_the_outcome_and_redacts_the_error(fake_adapters) -> None:
    account = _shop_account()
    ok = sync_job_finish(job=sync_job_start(account=account, kind="collect"), fetched=5, created=3, updated=2)
    assert ok.status == "succeeded" and ok.duration_seconds is not None
    partial = sync_job_finish(job=sync_job_start(account=account, kind="stock_push"), updated=4, failed=1)
    assert partial.status == "partial"
    failed = sync_job_finish(job=sync_job_start(account=account, kind="collect"), error=f"401 for {SECRET}")
    assert failed.status == "failed" and failed.error == "401 for [redacted]"


def test_retry_of_a_connection_test_runs_it_again_at_once(fake_adapters, fake_shop, admin_user) -> None:
    account = _shop_account(fake_shop)
    old = SyncJobFactory.create(account=account, kind="auth_check", status="failed")
    outcome = sync_job_retry(actor=admin_user, job=old)
    assert outcome.job is not None and outcome.job.retry_of == old and outcome.job.status == "succeeded"


def test_retry_without_the_background_task_is_refused_not_faked(fake_adapters, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "channels.tasks", types.ModuleType("channels.tasks"))
    job = SyncJobFactory.create(account=_shop_account(), kind="collect")
    assert "collect" not in retryable_kinds()
    with pytest.raises(RetryRefused, match="not installed"):
        sync_job_retry(actor=None, job=job)
    running = SyncJobFactory.create(account=job.account, kind="collect", status="running")
    with pytest.raises(RetryRefused, match="not finished"):
        sync_job_retry(actor=None, job=running)


def test_retry_enqueues_the_task_of_the_same_kind(fake_adapters, monkeypatch, admin_user) -> None:
    calls: list[tuple[tuple, dict]] = []

    class FakeTask:
        def run(self, account_id: int, retry_of: int | None = None) -> None: ...

        def delay(self, *args, **kwargs) -> None:
            calls.append((args, kwargs))

    module = types.ModuleType("channels.tasks")
    module.channel_orders_collect_task = FakeTask()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "channels.tasks", module)
    account = _shop_account()
    job = SyncJobFactory.create(account=account, kind="collect")
    assert "collect" in retryable_kinds() and "stock_push" not in retryable_kinds()
    outcome = sync_job_retry(actor=admin_user, job=job)
    assert outcome.job is None and "queued" in outcome.message
    assert calls == [((account.pk,), {"retry_of": job.pk})]
    channel_account_pause(actor=admin_user, account=account)
    with pytest.raises(RetryRefused, match="paused"):
        sync_job_retry(actor=admin_user, job=job)
    assert len(calls) == 1


# --- listings --------------------------------------------------------------------------------


def test_link_and_unlink_a_listing_by_hand(admin_user) -> None:
    listing = ListingFactory.create()
    sku = SkuFactory.create()
    listing = listing_link_sku(actor=admin_user, listing=listing, sku=sku)
    assert (listing.sku, listing.linked_by) == (sku, "manual")
    assert StockDirty.objects.filter(sku=sku).exists()
    listing = listing_link_sku(actor=admin_user, listing=listing, sku=None)
    assert (listing.sku, listing.linked_by) == (None, "")
    assert [a.changes for a in AuditLog.objects.filter(action="listing.link").order_by("id")] == [
        {"sku": [None, sku.code]},
        {"sku": [sku.code, None]},
    ]


def test_stock_sync_exclusion_switch(admin_user) -> None:
    account = ChannelAccountFactory.create()
    rows = [
        ListingFactory.create(account=account, sku=SkuFactory.create(), linked_by="manual") for _ in range(3)
    ]
    qs = Listing.objects.filter(account=account)
    assert listing_set_stock_sync(actor=admin_user, listings=qs, excluded=True) == 3
    assert listing_set_stock_sync(actor=admin_user, listings=qs, excluded=True) == 0
    StockDirty.objects.all().delete()
    assert listing_set_stock_sync(actor=admin_user, listings=qs.filter(pk=rows[0].pk), excluded=False) == 1
    assert list(StockDirty.objects.values_list("sku_id", flat=True)) == [rows[0].sku_id]
    assert AuditLog.objects.filter(action="listing.stock_sync").count() == 4


def test_autolink_by_matching_sku_code_and_seller_code() -> None:
    account = ChannelAccountFactory.create()
    by_code = SkuFactory.create(code="KNIT-BK-S")
    single = SkuFactory.create(product=ProductFactory.create(code="P-SCARF"))
    knit = ProductFactory.create(code="P-KNIT")
    SkuFactory.create(product=knit, option_label="블랙 / S")
    white = SkuFactory.create(product=knit, option_label="화이트 / M")
    mapped = SkuFactory.create()
    mapping = OptionMapping.objects.create(account=account, channel_product_id="777", option_key="9")
    OptionMappingItem.objects.create(mapping=mapping, sku=mapped, quantity=1)
    manual = SkuFactory.create()
    rows = {
        "sku": ListingFactory.create(account=account, seller_code="KNIT-BK-S"),
        "single": ListingFactory.create(account=account, seller_code="P-SCARF"),
        "option": ListingFactory.create(account=account, seller_code="P-KNIT", option_text=" 화이트 /  M "),
        "ambiguous": ListingFactory.create(account=account, seller_code="P-KNIT", option_text="그레이"),
        "mapping": ListingFactory.create(account=account, external_product_id="777", external_option_id="9"),
        "none": ListingFactory.create(account=account, seller_code="NOPE"),
        "manual": ListingFactory.create(
            account=account, seller_code="KNIT-BK-S", sku=manual, linked_by="manual"
        ),
    }
    result = listing_autolink(actor=None, account=account, listings=Listing.objects.all())
    assert (result.linked, result.unmatched, result.ambiguous) == (4, 1, 1)
    got = {
        k: (Listing.objects.get(pk=v.pk).sku_id, Listing.objects.get(pk=v.pk).linked_by)
        for k, v in rows.items()
    }
    assert got == {
        "sku": (by_code.pk, "sku_code"),
        "single": (single.pk, "seller_code"),
        "option": (white.pk, "seller_code"),
        "ambiguous": (None, ""),
        "mapping": (mapped.pk, "mapping"),
        "none": (None, ""),
        "manual": (manual.pk, "manual"),
    }


def test_listing_record_seen_creates_once_autolinks_and_refreshes_names() -> None:
    account = ChannelAccountFactory.create()
    sku = SkuFactory.create(code="TEE-01")
    seen = [
        ListingSeen("1001", "11", "반팔 티셔츠", "블랙", "TEE-01"),
        ListingSeen("1001", "12", "반팔 티셔츠", "화이트", "TEE-02"),
        ListingSeen("  ", "x"),
    ]
    assert listing_record_seen(account=account, items=seen) == 2
    assert listing_record_seen(account=account, items=seen) == 0
    assert Listing.objects.get(external_option_id="11").sku == sku
    listing_record_seen(account=account, items=[ListingSeen("1001", "12", "반팔 티셔츠 (new)", "화이트")])
    row = Listing.objects.get(external_option_id="12")
    assert (row.product_name, row.seller_code) == ("반팔 티셔츠 (new)", "TEE-02")
    assert Listing.objects.count() == 2


def test_calllog_prune_drops_only_old_rows() -> None:
    account = ChannelAccountFactory.create()
    old = CallLog.objects.create(account=account, method="GET", path="/old")
    CallLog.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=40))
    fresh = CallLog.objects.create(account=account, method="GET", path="/new")
    assert calllog_prune(older_than=timedelta(days=30), batch=1) == 1
    assert list(CallLog.objects.values_list("pk", flat=True)) == [fresh.pk]
