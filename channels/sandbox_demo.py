"""Demo of the sandbox marketplace: the channel account "샌드박스 마켓" pointing at this app's own
/sandbox/api, the demo products listed in the sandbox (linked to the account's listings so the
stock push finds them), and a few first orders. From then on the beat's buyers keep ordering,
the account's schedule collects, and the stock push sends what is left: the demo runs itself.

Everything goes through the services: the account through channels.services_accounts (its
token encrypted like any credential), the listings through listing_record_seen (which
auto-links them by SKU code and marks their SKUs for the stock push), the sandbox's side
through channels.sandbox.services and the generator.

Idempotent: an existing account, listing or order is left as it is. The account's token is
re-issued only when the sandbox no longer knows it, and a base URL that still points at a local
sandbox follows $PORT (dev.py run on another port)."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from catalog.models import Sku
from channels.crypto import CredentialsUnreadable, decrypt_credentials
from channels.models import ChannelAccount, Marketplace
from channels.sandbox.generator import sandbox_orders_generate
from channels.sandbox.services import sandbox_key_issue, sandbox_listing_register, token_hash
from channels.sandbox_models import SandboxApiKey, SandboxListing, SandboxOrder
from channels.services_accounts import (
    ListingSeen,
    channel_account_create,
    channel_account_update,
    listing_record_seen,
)
from inventory.selectors import available_map
from oms.models import User

ACCOUNT_NAME = "샌드박스 마켓"
# Demo products listed in the sandbox, in this order: each product's active SKUs become options
# (DM-KN01 and DM-TS01 include SKUs that open sold out; DM-SET01 is a bundle).
PRODUCT_CODES = ("DM-TS01", "DM-KN01", "DM-MG01", "DM-BG01", "DM-DF01", "DM-SET01")
PRODUCT_NUMBER_BASE = 8_810_000
FIRST_ORDERS = 5
SEED = 20261125


@dataclass
class SandboxDemoResult:
    account_created: bool = False
    token_issued: bool = False
    listings_created: int = 0
    orders_created: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.notes:
            return "sandbox marketplace: " + "; ".join(self.notes)
        return (
            f"sandbox marketplace: account {'created' if self.account_created else 'kept'}"
            f"{', new API token' if self.token_issued else ''}, {self.listings_created} options listed, "
            f"{self.orders_created} first orders"
        )


def sandbox_base_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/sandbox/api"


def _is_local_sandbox(url: str) -> bool:
    return url.startswith("http://127.0.0.1:") and url.rstrip("/").endswith("/sandbox/api")


def _token_known(account: ChannelAccount) -> bool:
    try:
        token = decrypt_credentials(account.credentials_encrypted).get("api_token", "")
    except CredentialsUnreadable:
        return False
    return (
        bool(token)
        and SandboxApiKey.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True).exists()
    )


def _account(actor: User | None, result: SandboxDemoResult) -> ChannelAccount:
    account = ChannelAccount.objects.filter(name=ACCOUNT_NAME).first()
    if account is None:
        _key, token = sandbox_key_issue(actor=actor, label=ACCOUNT_NAME)
        result.account_created = result.token_issued = True
        return channel_account_create(
            actor=actor,
            marketplace=Marketplace.SANDBOX,
            name=ACCOUNT_NAME,
            base_url=sandbox_base_url(),
            credentials={"api_token": token},
            # Every minute (the shortest schedule), so the demo shows orders arriving quickly.
            settings={"collect_interval_minutes": 1},
        )
    if account.marketplace != Marketplace.SANDBOX:
        result.notes.append(f"an account named {ACCOUNT_NAME} exists for another marketplace; left alone")
        return account
    changes: dict[str, str] = {}
    if not _token_known(account):
        _key, changes["api_token"] = sandbox_key_issue(actor=actor, label=ACCOUNT_NAME)
        result.token_issued = True
    base_url = sandbox_base_url()
    moved = _is_local_sandbox(account.base_url) and account.base_url != base_url
    if changes or moved:
        account = channel_account_update(
            actor=actor,
            account=account,
            base_url=base_url if moved else None,
            credentials=changes or None,
        )
    return account


def _option_text(sku: Sku) -> str:
    values = sku.option_values if isinstance(sku.option_values, dict) else {}
    return " / ".join(f"{name}: {value}" for name, value in values.items())


def _listings(account: ChannelAccount, result: SandboxDemoResult) -> None:
    skus = list(
        Sku.objects.filter(product__code__in=PRODUCT_CODES, is_active=True)
        .select_related("product")
        .order_by("product__code", "pk")
    )
    available = available_map([s.pk for s in skus])
    seen: list[ListingSeen] = []
    for product_index, code in enumerate(PRODUCT_CODES, start=1):
        product_skus = [s for s in skus if s.product.code == code]
        product_id = str(PRODUCT_NUMBER_BASE + product_index)
        for option_index, sku in enumerate(product_skus, start=1):
            option_id = f"{product_id}{option_index:03d}"
            name = f"[데모상회] {sku.product.name}"
            option_text = _option_text(sku)
            _listing, created = sandbox_listing_register(
                product_id=product_id,
                option_id=option_id,
                product_name=name,
                option_text=option_text,
                price=sku.price,
                # What the seller typed when registering it; the OMS's stock push takes over.
                stock_quantity=account.exposed_quantity(available.get(sku.pk, 0)),
                seller_code=sku.code,
            )
            result.listings_created += int(created)
            seen.append(
                ListingSeen(
                    external_product_id=product_id,
                    external_option_id=option_id,
                    product_name=name,
                    option_text=option_text,
                    seller_code=sku.code,
                )
            )
    # New listings are auto-linked by SKU code and their SKUs marked for the stock push.
    listing_record_seen(account=account, items=seen)


def sandbox_demo_load(*, actor: User | None = None) -> SandboxDemoResult:
    result = SandboxDemoResult()
    if not settings.OMS_SANDBOX_ENABLED:
        result.notes.append("OMS_SANDBOX_ENABLED is off; skipped")
        return result
    if not Sku.objects.filter(product__code__in=PRODUCT_CODES).exists():
        result.notes.append("no demo SKUs: load the catalog demo first; skipped")
        return result
    with transaction.atomic():
        account = _account(actor, result)
        if result.notes:
            return result
        _listings(account, result)
        if not SandboxOrder.objects.exists() and SandboxListing.objects.exists():
            placed = sandbox_orders_generate(count=FIRST_ORDERS, rng=random.Random(SEED))
            result.orders_created = len(placed)
    return result
