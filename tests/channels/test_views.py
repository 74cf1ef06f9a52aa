"""The channel pages, as an administrator and a manager would use them. Secrets are checked
against every rendered page and every stored row."""

from __future__ import annotations

import sys
import types

import pytest
from django.urls import reverse
from django.utils import translation

from channels.crypto import decrypt_credentials
from channels.models import CallLog, ChannelAccount, Listing, SyncJob
from channels.registry import adapter_class
from channels.services_accounts import AccountError, channel_account_create, channel_account_record_error
from oms.models import AuditLog
from oms.roles import Role
from tests.catalog.factories import SkuFactory
from tests.channels.factories import ChannelAccountFactory, ListingFactory, SyncJobFactory
from tests.channels.fakeshop import SHOP_CODE, FakeShop
from tests.conftest import client_for, sheet_of

pytestmark = pytest.mark.django_db

SECRET = "sk_live_7a6b5c4d3e2f1a0b9c8d"
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _no_tasks_module(monkeypatch) -> None:
    """The sync tasks are another engineer's work; pages must not depend on them existing."""
    monkeypatch.setitem(sys.modules, "channels.tasks", types.ModuleType("channels.tasks"))


@pytest.fixture
def admin(make_user):
    return client_for(make_user(Role.ADMIN, username="owner"))


def _create_post(shop: FakeShop, **extra) -> dict[str, str]:
    data = {
        "marketplace": SHOP_CODE,
        "name": "테스트 상점",
        "base_url": shop.base_url,
        "cred_client_id": shop.client_id,
        "cred_client_secret": shop.client_secret,
        "collect_interval_minutes": "10",
        "commission_rate": "10.8",
        "stock_push_enabled": "on",
        "stock_keep_back": "1",
        "stock_expose_percent": "100",
        "stock_zero_threshold": "0",
    }
    data.update(extra)
    return data


def _html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_account_list_shows_status_and_errors(admin, fake_adapters) -> None:
    ok = ChannelAccountFactory.create(name="A 상점", marketplace=SHOP_CODE)
    bad = ChannelAccountFactory.create(name="B 상점", marketplace=SHOP_CODE)
    channel_account_record_error(account_id=bad.pk, message="허용되지 않은 IP", auth=True)
    SyncJobFactory.create(account=ok, kind="collect", status="succeeded")
    html = _html(admin.get(reverse("channels:account_list")))
    assert "A 상점" in html and "B 상점" in html and "허용되지 않은 IP" in html
    only_errors = _html(admin.get(reverse("channels:account_list"), {"status": "error"}, **HX))
    assert "B 상점" in only_errors and "A 상점" not in only_errors


def test_connect_a_channel_starts_with_the_marketplace_picker(admin, fake_adapters) -> None:
    html = _html(admin.get(reverse("channels:account_create")))
    assert f"?marketplace={SHOP_CODE}" in html and "?marketplace=11st" in html


@pytest.mark.parametrize("enabled", [True, False])
def test_the_sandbox_marketplace_is_offered_only_while_it_is_served(admin, settings, enabled) -> None:
    # given the real adapters, and the sandbox on (demo, tests) or off (production)
    settings.OMS_SANDBOX_ENABLED = enabled
    # then the picker offers it (with its API) only when on
    picker = _html(admin.get(reverse("channels:account_create")))
    assert "?marketplace=smartstore" in picker
    assert ("?marketplace=sandbox" in picker) is enabled
    assert (adapter_class("sandbox") is not None) is enabled
    # and asking for it by hand when off shows the picker again; nothing is made
    response = admin.post(
        reverse("channels:account_create"),
        {"marketplace": "sandbox", "name": "샌드박스", "cred_api_key": "k"},
    )
    if not enabled:
        assert response.status_code == 200 and "?marketplace=smartstore" in _html(response)
        assert not ChannelAccount.objects.exists()
        with pytest.raises(AccountError):
            channel_account_create(actor=None, marketplace="sandbox", name="샌드박스")


def test_create_an_account_with_credentials_then_the_secret_is_never_shown_again(
    admin, fake_adapters, fake_shop
) -> None:
    shop_secret = fake_shop.client_secret
    form = _html(admin.get(reverse("channels:account_create"), {"marketplace": SHOP_CODE}))
    assert 'name="cred_client_secret"' in form and 'name="cred_webhook_secret"' in form
    response = admin.post(reverse("channels:account_create"), _create_post(fake_shop))
    account = ChannelAccount.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "channels:account_detail", args=[account.pk]
    )
    assert decrypt_credentials(account.credentials_encrypted)["client_secret"] == shop_secret
    assert account.collect_interval_minutes == 10 and str(account.commission_rate) == "10.80"

    detail = _html(admin.get(response["Location"]))
    edit = _html(admin.get(reverse("channels:account_edit", args=[account.pk])))
    for html in (detail, edit):
        assert shop_secret not in html
        assert f"····{shop_secret[-4:]}" in html
        assert fake_shop.client_id in html  # not a secret: shown so it can be checked


def test_an_empty_secret_keeps_the_saved_one_and_a_new_one_replaces_it(
    admin, fake_adapters, fake_shop
) -> None:
    admin.post(reverse("channels:account_create"), _create_post(fake_shop))
    account = ChannelAccount.objects.get()
    url = reverse("channels:account_edit", args=[account.pk])
    data = _create_post(fake_shop, name="새 이름", cred_client_secret="", is_active="on")
    assert admin.post(url, data).status_code == 302
    account.refresh_from_db()
    assert account.name == "새 이름"
    assert decrypt_credentials(account.credentials_encrypted)["client_secret"] == fake_shop.client_secret
    admin.post(url, {**data, "cred_client_secret": SECRET})
    account.refresh_from_db()
    assert decrypt_credentials(account.credentials_encrypted)["client_secret"] == SECRET
    changes = [a.changes for a in AuditLog.objects.filter(action="channel_account.update").order_by("id")]
    assert changes[-1] == {"credentials": "client_secret"}
    assert SECRET not in str(changes)


def test_bad_input_is_refused_next_to_its_field_and_changes_nothing(admin, fake_adapters, fake_shop) -> None:
    ChannelAccountFactory.create(name="테스트 상점")
    url = reverse("channels:account_create")
    response = admin.post(url, _create_post(fake_shop, cred_client_secret="", base_url="not a url"))
    html = _html(response)
    assert ChannelAccount.objects.count() == 1
    form = response.context["form"]
    assert set(form.errors) == {"name", "base_url", "cred_client_secret", "stock_keep_back"} - {
        "stock_keep_back"
    }
    assert fake_shop.client_secret not in html  # a refused form does not echo the secret back either


def test_an_excel_only_marketplace_has_no_credentials_section(admin, fake_adapters) -> None:
    html = _html(admin.get(reverse("channels:account_create"), {"marketplace": "11st"}))
    assert "cred_" not in html and 'class="excel-only"' in html and 'name="base_url"' not in html
    response = admin.post(
        reverse("channels:account_create"), {"marketplace": "11st", "name": "11번가", "commission_rate": "12"}
    )
    assert response.status_code == 302
    account = ChannelAccount.objects.get(name="11번가")
    assert account.credentials_encrypted == ""
    detail = _html(admin.get(response["Location"]))
    assert 'class="excel-only"' in detail and "data-test-connection" not in detail


def test_connection_test_button_through_htmx_and_without_javascript(admin, fake_adapters, fake_shop) -> None:
    admin.post(reverse("channels:account_create"), _create_post(fake_shop))
    account = ChannelAccount.objects.get()
    url = reverse("channels:account_test", args=[account.pk])
    fragment = _html(admin.post(url, **HX))
    assert 'id="auth-result"' in fragment and "<html" not in fragment
    job = SyncJob.objects.get(kind="auth_check")
    assert 'id="recent-jobs" hx-swap-oob="true"' in fragment and f'data-job="{job.pk}"' in fragment
    assert job.status == "succeeded" and job.triggered_by is not None
    assert job.triggered_by.username == "owner"
    response = admin.post(url, follow=True)
    assert "테스트 상점 (basic)" in _html(response)
    assert SyncJob.objects.filter(kind="auth_check").count() == 2


def test_no_page_log_job_or_audit_row_ever_holds_the_secret(admin, fake_adapters, caplog) -> None:
    shop = FakeShop(client_secret=SECRET)
    shop.start()
    try:
        admin.post(
            reverse("channels:account_create"), _create_post(shop, cred_client_secret="sk_wrong_0000000000")
        )
        account = ChannelAccount.objects.get()
        # Now the real secret, then a wrong one again, so both a success and a refusal are recorded.
        edit = reverse("channels:account_edit", args=[account.pk])
        admin.post(edit, _create_post(shop, cred_client_secret=SECRET, is_active="on"))
        admin.post(reverse("channels:account_test", args=[account.pk]))
        admin.post(edit, _create_post(shop, cred_client_secret="sk_wrong_1111111111", is_active="on"))
        admin.post(reverse("channels:account_test", args=[account.pk]))
    finally:
        shop.stop()
    account.refresh_from_db()
    assert account.status == "error"
    failed = SyncJob.objects.filter(status="failed").get()
    pages = [
        reverse("channels:account_list"),
        reverse("channels:account_detail", args=[account.pk]),
        reverse("channels:account_edit", args=[account.pk]),
        reverse("channels:job_list"),
        reverse("channels:job_detail", args=[failed.pk]),
        reverse("channels:job_detail", args=[SyncJob.objects.get(status="succeeded").pk]),
        reverse("audit_list"),
        reverse("dashboard"),
    ]
    secrets = (SECRET, "sk_wrong_0000000000", "sk_wrong_1111111111", *shop.tokens)
    for url in pages:
        html = _html(admin.get(url))
        for secret in secrets:
            assert secret not in html, url
    rows = [
        *(f"{c.path} {c.error} {c.request_excerpt} {c.response_excerpt}" for c in CallLog.objects.all()),
        *(f"{j.error} {j.params}" for j in SyncJob.objects.all()),
        *(f"{a.changes} {a.object_repr}" for a in AuditLog.objects.all()),
        f"{account.last_error} {account.credentials_encrypted} {account.cursor_state}",
        caplog.text,
    ]
    assert CallLog.objects.count() >= 3
    for row in rows:
        for secret in secrets:
            assert secret not in row


def test_pause_and_resume(admin, fake_adapters) -> None:
    account = ChannelAccountFactory.create(marketplace=SHOP_CODE)
    admin.post(reverse("channels:account_pause", args=[account.pk]))
    account.refresh_from_db()
    assert account.status == "paused"
    assert f'action="/channels/{account.pk}/resume/"' in _html(
        admin.get(reverse("channels:account_detail", args=[account.pk]))
    )
    admin.post(reverse("channels:account_resume", args=[account.pk]))
    account.refresh_from_db()
    assert account.status == "active"


# --- listings --------------------------------------------------------------------------------


def test_listing_page_filters_and_downloads(admin) -> None:
    account = ChannelAccountFactory.create()
    linked = ListingFactory.create(account=account, sku=SkuFactory.create(code="TEE-01"), linked_by="manual")
    unlinked = ListingFactory.create(account=account, product_name="미연결 바지")
    ListingFactory.create(product_name="다른 계정 상품")
    url = reverse("channels:listing_list", args=[account.pk])
    html = _html(admin.get(url))
    assert linked.product_name in html and "미연결 바지" in html and "다른 계정 상품" not in html
    only_unlinked = _html(admin.get(url, {"link": "unlinked"}, **HX))
    assert "미연결 바지" in only_unlinked and linked.product_name not in only_unlinked
    assert "TEE-01" in _html(admin.get(url, {"q": "tee-01"}))
    sheet = sheet_of(admin.get(url, {"format": "xlsx", "link": "linked"}))
    assert [row[5] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["TEE-01"]
    assert unlinked.pk


def test_link_a_listing_to_a_sku_inline(admin) -> None:
    account = ChannelAccountFactory.create()
    listing = ListingFactory.create(account=account)
    sku = SkuFactory.create(code="KNIT-BK-S")
    url = reverse("channels:listing_link", args=[account.pk, listing.pk])
    row = _html(admin.post(url, {"sku_code": "KNIT-BK-S"}, **HX))
    assert row.lstrip().startswith("<tr") and "KNIT-BK-S" in row
    listing.refresh_from_db()
    assert (listing.sku, listing.linked_by) == (sku, "manual")
    refused = _html(admin.post(url, {"sku_code": "NOPE"}, **HX))
    assert "NOPE" in refused and 'class="error"' in refused
    listing.refresh_from_db()
    assert listing.sku == sku
    admin.post(url, {"sku_code": ""})
    listing.refresh_from_db()
    assert listing.sku is None


def test_sku_picker_suggests_skus(admin) -> None:
    SkuFactory.create(code="KNIT-BK-S")
    SkuFactory.create(code="TEE-01")
    html = _html(admin.get(reverse("channels:sku_search"), {"sku_code": "knit"}))
    assert 'value="KNIT-BK-S"' in html and "TEE-01" not in html


def test_stock_sync_switch_and_bulk_actions(admin) -> None:
    account = ChannelAccountFactory.create()
    rows = [
        ListingFactory.create(account=account, sku=SkuFactory.create(), linked_by="manual") for _ in range(3)
    ]
    switch = reverse("channels:listing_stock_sync", args=[account.pk, rows[0].pk])
    row = _html(admin.post(switch, {"excluded": "1"}, **HX))
    assert Listing.objects.get(pk=rows[0].pk).stock_sync_excluded and 'value="0"' in row
    bulk = reverse("channels:listing_bulk", args=[account.pk])
    admin.post(bulk, {"action": "exclude", "select_all": "filtered"})
    assert Listing.objects.filter(stock_sync_excluded=True).count() == 3
    admin.post(bulk, {"action": "include", "ids": [rows[1].pk]})
    assert list(Listing.objects.filter(stock_sync_excluded=False).values_list("pk", flat=True)) == [
        rows[1].pk
    ]


def test_auto_link_button(admin) -> None:
    account = ChannelAccountFactory.create()
    sku = SkuFactory.create(code="SCARF-01")
    ListingFactory.create(account=account, seller_code="SCARF-01")
    ListingFactory.create(account=account, seller_code="UNKNOWN")
    response = admin.post(reverse("channels:listing_autolink", args=[account.pk]), follow=True)
    assert Listing.objects.filter(sku=sku, linked_by="sku_code").count() == 1
    flashes = [str(m) for m in response.context["messages"]]
    assert len(flashes) == 2  # one linked, one left to link by hand


def test_managers_reach_listings_and_jobs_from_the_nav_but_never_credentials(make_user) -> None:
    # given an account with credentials and a listing
    account = channel_account_create(
        actor=None,
        marketplace="smartstore",
        name="네이버 본점",
        credentials={"client_id": "app-1", "client_secret": "$2a$04$secretsecretsecret1234"},
    )
    manager = client_for(make_user(Role.MANAGER))
    # when a manager follows the nav's channel entry
    home = _html(manager.get(reverse("dashboard")))
    assert f'href="{reverse("channels:account_list")}"' in home
    page = manager.get(reverse("channels:account_list"))
    html = _html(page)
    # then every account is there with its listings and sync jobs, and nothing of its settings
    assert page.status_code == 200 and "네이버 본점" in html
    assert reverse("channels:listing_list", args=[account.pk]) in html
    assert f"{reverse('channels:job_list')}?account={account.pk}" in html
    assert f'href="{reverse("channels:account_detail", args=[account.pk])}"' not in html
    assert reverse("channels:account_edit", args=[account.pk]) not in html
    assert reverse("channels:account_create") not in html
    assert "1234" not in html and "app-1" not in html
    assert manager.get(reverse("channels:account_detail", args=[account.pk])).status_code == 403
    # and staff have no channel entry at all
    staff_home = _html(client_for(make_user(Role.STAFF)).get(reverse("dashboard")))
    assert (
        reverse("channels:account_list") not in staff_home and reverse("channels:job_list") not in staff_home
    )


def test_managers_read_listings_and_jobs_but_change_nothing(make_user) -> None:
    manager = client_for(make_user(Role.MANAGER))
    account = ChannelAccountFactory.create()
    listing = ListingFactory.create(account=account)
    html = _html(manager.get(reverse("channels:listing_list", args=[account.pk])))
    assert listing.product_name in html and 'name="sku_code"' not in html and "data-bulk-bar" not in html
    job = SyncJobFactory.create(account=account, kind="auth_check")
    jobs = _html(manager.get(reverse("channels:job_list")))
    assert f'data-job="{job.pk}"' in jobs and f"channels/jobs/{job.pk}/retry/" not in jobs
    assert (
        manager.post(
            reverse("channels:listing_link", args=[account.pk, listing.pk]), {"sku_code": ""}
        ).status_code
        == 403
    )


# --- sync monitor ----------------------------------------------------------------------------


def test_job_list_filters_newest_first_and_downloads(admin) -> None:
    a, b = ChannelAccountFactory.create(name="가 상점"), ChannelAccountFactory.create(name="나 상점")
    first = SyncJobFactory.create(account=a, kind="collect", status="succeeded", fetched=12)
    second = SyncJobFactory.create(account=b, kind="stock_push", status="failed", error="429 rate limited")
    third = SyncJobFactory.create(account=a, kind="collect", status="failed", error="토큰 만료")
    html = _html(admin.get(reverse("channels:job_list")))
    assert (
        html.index(f'data-job="{third.pk}"')
        < html.index(f'data-job="{second.pk}"')
        < html.index(f'data-job="{first.pk}"')
    )
    filtered = _html(admin.get(reverse("channels:job_list"), {"account": a.pk, "status": "failed"}, **HX))
    assert f'data-job="{third.pk}"' in filtered and f'data-job="{first.pk}"' not in filtered
    assert f'data-job="{second.pk}"' not in filtered
    sheet = sheet_of(admin.get(reverse("channels:job_list"), {"format": "xlsx", "kind": "collect"}))
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [third.pk, first.pk]
    bad_dates = admin.get(reverse("channels:job_list"), {"since": "2026-03-02", "until": "2026-03-01"})
    assert bad_dates.context["filter_form"].errors


def test_retry_is_disabled_while_the_task_does_not_exist(admin) -> None:
    job = SyncJobFactory.create(kind="collect", status="failed")
    html = _html(admin.get(reverse("channels:job_detail", args=[job.pk])))
    assert "disabled title=" in html
    response = admin.post(reverse("channels:job_retry", args=[job.pk]), follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert SyncJob.objects.count() == 1


def test_retry_queues_the_task_when_it_exists(admin, monkeypatch) -> None:
    queued: list[int] = []

    class Task:
        def delay(self, account_id: int) -> None:
            queued.append(account_id)

    module = types.ModuleType("channels.tasks")
    module.SYNC_JOB_TASKS = {"stock_push": Task()}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "channels.tasks", module)
    job = SyncJobFactory.create(kind="stock_push", status="partial")
    html = _html(admin.get(reverse("channels:job_list")))
    assert f'action="{reverse("channels:job_retry", args=[job.pk])}"' in html
    admin.post(reverse("channels:job_retry", args=[job.pk]))
    assert queued == [job.account_id]


def test_job_detail_shows_the_calls(admin, fake_adapters, fake_shop) -> None:
    account = channel_account_create(
        actor=None,
        marketplace=SHOP_CODE,
        name="상점",
        base_url=fake_shop.base_url,
        credentials={"client_id": fake_shop.client_id, "client_secret": fake_shop.client_secret},
    )
    admin.post(reverse("channels:account_test", args=[account.pk]))
    job = SyncJob.objects.get()
    html = _html(admin.get(reverse("channels:job_detail", args=[job.pk])))
    assert "POST /oauth/token" in html and "GET /v1/me" in html and "[redacted]" in html


# --- dashboard -------------------------------------------------------------------------------


def test_dashboard_lists_accounts_in_error_with_the_reason(make_user) -> None:
    account = ChannelAccountFactory.create(name="쿠팡 본점")
    ChannelAccountFactory.create(name="멀쩡한 상점")
    channel_account_record_error(account_id=account.pk, message="허용되지 않은 IP 주소 (403)", auth=True)
    SyncJobFactory.create(account=account, status="failed")
    admin_html = _html(client_for(make_user(Role.ADMIN)).get(reverse("dashboard")))
    assert "쿠팡 본점" in admin_html and "허용되지 않은 IP 주소 (403)" in admin_html
    assert reverse("channels:account_detail", args=[account.pk]) in admin_html
    assert "멀쩡한 상점" not in admin_html
    manager_html = _html(client_for(make_user(Role.MANAGER)).get(reverse("dashboard")))
    assert f"{reverse('channels:job_list')}?account={account.pk}" in manager_html
    staff_html = _html(client_for(make_user(Role.STAFF)).get(reverse("dashboard")))
    assert "쿠팡 본점" not in staff_html


def test_pages_translate_through_gettext() -> None:
    with translation.override("en"):
        assert str(SyncJob.Kind.AUTH_CHECK.label) == "Connection test"
