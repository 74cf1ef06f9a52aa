from __future__ import annotations

import pytest

from channels.forms import AccountForm, ListingLinkForm, SyncJobFilterForm
from channels.selectors import account_credentials_view, marketplace_info
from channels.services_accounts import channel_account_create
from tests.catalog.factories import SkuFactory
from tests.channels.fakeshop import SHOP_CODE

pytestmark = pytest.mark.django_db

SECRET = "sk_live_abcdef0123456789"
BASE = {
    "name": "상점",
    "collect_interval_minutes": "5",
    "commission_rate": "0",
    "stock_push_enabled": "on",
    "stock_keep_back": "0",
    "stock_expose_percent": "100",
    "stock_zero_threshold": "0",
}


def test_the_credential_inputs_come_from_the_adapter(fake_adapters) -> None:
    form = AccountForm(marketplace=marketplace_info(SHOP_CODE))
    names = [f.name for f in form.credential_fields]
    assert names == ["cred_client_id", "cred_client_secret", "cred_webhook_secret"]
    assert form.fields["cred_client_secret"].required and not form.fields["cred_webhook_secret"].required
    assert form.fields["cred_client_secret"].widget.input_type == "password"
    assert form.fields["cred_client_id"].widget.input_type == "text"  # secret=False: shown again


def test_a_saved_secret_is_not_required_again_and_never_rendered(fake_adapters) -> None:
    account = channel_account_create(
        actor=None,
        marketplace=SHOP_CODE,
        name="상점",
        credentials={"client_id": "cid", "client_secret": SECRET},
    )
    info = marketplace_info(SHOP_CODE)
    creds = account_credentials_view(account=account)
    form = AccountForm(
        {**BASE, "cred_client_id": "cid", "cred_client_secret": ""},
        marketplace=info,
        account=account,
        credentials=creds,
    )
    assert form.is_valid(), form.errors
    assert form.credential_changes() == {"client_id": "cid", "client_secret": None, "webhook_secret": None}
    html = str(form["cred_client_secret"]) + str(form["cred_client_secret"].help_text)
    assert SECRET not in html and "····6789" in html
    refused = AccountForm(
        {**BASE, "cred_client_secret": SECRET, "stock_expose_percent": "101"},
        marketplace=info,
        account=account,
    )
    assert not refused.is_valid() and "stock_expose_percent" in refused.errors
    assert SECRET not in str(refused["cred_client_secret"])  # a refused form does not echo it


def test_an_excel_only_marketplace_asks_only_for_name_and_commission(fake_adapters) -> None:
    form = AccountForm(marketplace=marketplace_info("gmarket"))
    assert sorted(form.fields) == ["commission_rate", "name"]
    assert form.credential_fields == []


def test_listing_link_form_finds_a_sku_by_code_or_barcode() -> None:
    sku = SkuFactory.create(code="KNIT-01", barcode="8801234567890")
    off = SkuFactory.create(code="OLD-01", is_active=False)
    assert ListingLinkForm({"sku_code": " KNIT-01 "}).is_valid()
    by_barcode = ListingLinkForm({"sku_code": "8801234567890"})
    assert by_barcode.is_valid() and by_barcode.cleaned_data["sku_code"] == sku
    empty = ListingLinkForm({"sku_code": ""})
    assert empty.is_valid() and empty.cleaned_data["sku_code"] is None
    assert not ListingLinkForm({"sku_code": "NOPE"}).is_valid()
    assert not ListingLinkForm({"sku_code": off.code}).is_valid()


def test_job_filter_refuses_an_end_before_the_start() -> None:
    assert not SyncJobFilterForm({"since": "2026-03-02", "until": "2026-03-01"}).is_valid()
    assert SyncJobFilterForm({"since": "2026-03-01", "until": "2026-03-01"}).is_valid()
