"""Reads for channel accounts, listings and the sync monitor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from catalog.models import Sku
from channels.adapters.base import Capability, ChannelAdapter, CredentialField
from channels.crypto import CredentialsUnreadable, decrypt_credentials, mask
from channels.models import CallLog, ChannelAccount, Listing, Marketplace, SyncJob
from channels.registry import adapter_class, marketplace_offered

# --- Marketplaces -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketplaceInfo:
    code: str
    label: str | Promise
    adapter: type[ChannelAdapter] | None

    @property
    def has_api(self) -> bool:
        return self.adapter is not None

    @property
    def credential_fields(self) -> tuple[CredentialField, ...]:
        return self.adapter.credential_fields if self.adapter else ()

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.adapter.capabilities if self.adapter else frozenset()

    @property
    def default_base_url(self) -> str:
        return self.adapter.default_base_url if self.adapter else ""


def marketplace_info(code: str) -> MarketplaceInfo:
    label = Marketplace(code).label if code in Marketplace.values else code
    return MarketplaceInfo(code=code, label=label, adapter=adapter_class(code))


def marketplace_infos() -> list[MarketplaceInfo]:
    """Every marketplace a new account may be made for, those with an API connection first."""
    infos = [marketplace_info(code) for code in Marketplace.values if marketplace_offered(code)]
    return sorted(infos, key=lambda m: not m.has_api)


CAPABILITY_LABELS: dict[Capability, str | Promise] = {
    Capability.COLLECT_ORDERS: _("Collect orders"),
    Capability.CONFIRM_ORDERS: _("Confirm orders (발주확인)"),
    Capability.DISPATCH: _("Send tracking numbers (발송처리)"),
    Capability.PUSH_STOCK: _("Send stock"),
    Capability.PUSH_PRODUCT: _("Send names, prices and sold-out"),
    Capability.COLLECT_CLAIMS: _("Collect cancels and returns"),
    Capability.RESOLVE_CLAIMS: _("Approve cancels and returns"),
    Capability.COLLECT_INQUIRIES: _("Collect customer questions"),
    Capability.ANSWER_INQUIRIES: _("Answer customer questions"),
}


@dataclass(frozen=True)
class CapabilityRow:
    label: str | Promise
    supported: bool


def capability_rows(info: MarketplaceInfo) -> list[CapabilityRow]:
    return [CapabilityRow(CAPABILITY_LABELS.get(c, c.value), c in info.capabilities) for c in Capability]


# --- Accounts ---------------------------------------------------------------------------------


def _last_job(kind: str, field: str) -> Subquery:
    return Subquery(
        SyncJob.objects.filter(account=OuterRef("pk"), kind=kind).order_by("-id").values(field)[:1]
    )


def account_list(*, filters: Mapping[str, Any]) -> QuerySet[ChannelAccount]:
    """Accounts with their last collection (time and status), for the list page."""
    qs = ChannelAccount.objects.annotate(
        last_collect_at=_last_job(SyncJob.Kind.COLLECT, "finished_at"),
        last_collect_status=_last_job(SyncJob.Kind.COLLECT, "status"),
    )
    if filters.get("marketplace"):
        qs = qs.filter(marketplace=filters["marketplace"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("q"):
        qs = qs.filter(name__icontains=filters["q"])
    return qs.order_by("name", "pk")


def account_get(*, pk: int) -> ChannelAccount:
    return ChannelAccount.objects.get(pk=pk)


def accounts_in_error() -> QuerySet[ChannelAccount]:
    return ChannelAccount.objects.filter(status=ChannelAccount.Status.ERROR, is_active=True).order_by(
        "-last_error_at", "pk"
    )


@dataclass(frozen=True)
class CredentialState:
    field: CredentialField
    is_set: bool
    display: str  # 설정됨 ····1234 for a secret, the value itself for a non-secret field


@dataclass(frozen=True)
class CredentialsView:
    fields: list[CredentialState]
    unreadable: str = ""  # why the saved credentials cannot be read, when they cannot

    @property
    def complete(self) -> bool:
        return not self.unreadable and all(s.is_set for s in self.fields if s.field.required)


def account_credentials_view(*, account: ChannelAccount) -> CredentialsView:
    """What the account page may show of the credentials: which are set and, for secrets, the
    last four characters only."""
    info = marketplace_info(account.marketplace)
    try:
        values = decrypt_credentials(account.credentials_encrypted)
    except CredentialsUnreadable as exc:
        return CredentialsView([CredentialState(f, False, "") for f in info.credential_fields], str(exc))
    states = []
    for field in info.credential_fields:
        value = values.get(field.name, "")
        display = (mask(value) if field.secret else value) if value else ""
        states.append(CredentialState(field, bool(value), display))
    return CredentialsView(states)


def account_listing_counts(*, account: ChannelAccount) -> dict[str, int]:
    return Listing.objects.filter(account=account).aggregate(
        total=Count("pk"),
        unlinked=Count("pk", filter=Q(sku__isnull=True)),
        excluded=Count("pk", filter=Q(stock_sync_excluded=True)),
        errors=Count("pk", filter=~Q(push_error="")),
    )


def account_recent_jobs(*, account: ChannelAccount, limit: int = 8) -> list[SyncJob]:
    return list(SyncJob.objects.filter(account=account).order_by("-id")[:limit])


# --- Listings ---------------------------------------------------------------------------------

LISTING_ORDER = ("external_product_id", "external_option_id", "pk")


def listing_list(*, account: ChannelAccount, filters: Mapping[str, Any]) -> QuerySet[Listing]:
    qs = Listing.objects.filter(account=account).select_related("sku", "sku__product")
    q = (filters.get("q") or "").strip()
    if q:
        qs = qs.filter(
            Q(product_name__icontains=q)
            | Q(option_text__icontains=q)
            | Q(name_override__icontains=q)
            | Q(external_product_id=q)
            | Q(external_option_id=q)
            | Q(seller_code__iexact=q)
            | Q(sku__code__iexact=q)
        )
    link = filters.get("link")
    if link == "linked":
        qs = qs.filter(sku__isnull=False)
    elif link == "unlinked":
        qs = qs.filter(sku__isnull=True)
    sync = filters.get("sync")
    if sync == "excluded":
        qs = qs.filter(stock_sync_excluded=True)
    elif sync == "error":
        qs = qs.exclude(push_error="")
    elif sync == "never":
        qs = qs.filter(last_pushed_at__isnull=True, stock_sync_excluded=False)
    elif sync == "ok":
        qs = qs.filter(push_error="", last_pushed_at__isnull=False, stock_sync_excluded=False)
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    return qs


def sku_search(*, q: str, limit: int = 20) -> list[Sku]:
    """SKUs for the link picker: by code or barcode prefix, or by product name."""
    q = q.strip()
    if not q:
        return []
    qs = (
        Sku.objects.filter(is_active=True)
        .filter(Q(code__istartswith=q) | Q(barcode=q) | Q(product__name__icontains=q))
        .select_related("product")
        .order_by("code")
    )
    return list(qs[:limit])


# --- Sync monitor -----------------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def sync_job_list(*, filters: Mapping[str, Any]) -> QuerySet[SyncJob]:
    qs = SyncJob.objects.select_related("account", "retry_of")
    if filters.get("account"):
        qs = qs.filter(account=filters["account"])
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("since"):
        qs = qs.filter(created_at__gte=_day_start(filters["since"]))
    if filters.get("until"):
        qs = qs.filter(created_at__lt=_day_start(filters["until"]) + timedelta(days=1))
    return qs


def sync_job_get(*, pk: int) -> SyncJob:
    return SyncJob.objects.select_related("account", "retry_of", "triggered_by").get(pk=pk)


def sync_job_calls(*, job: SyncJob, limit: int = 200) -> list[CallLog]:
    return list(CallLog.objects.filter(job=job).order_by("id")[:limit])
