"""Channel accounts (admins), listings and the sync monitor. Thin views: a form, one service."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from channels.forms import (
    AccountFilterForm,
    AccountForm,
    ListingFilterForm,
    ListingLinkForm,
    SyncJobFilterForm,
)
from channels.models import ChannelAccount, Listing, Marketplace, SyncJob
from channels.registry import marketplace_offered
from channels.selectors import (
    LISTING_ORDER,
    account_credentials_view,
    account_list,
    account_listing_counts,
    account_recent_jobs,
    capability_rows,
    listing_list,
    marketplace_info,
    marketplace_infos,
    sku_search,
    sync_job_calls,
    sync_job_get,
    sync_job_list,
)
from channels.services_accounts import (
    AccountError,
    RetryRefused,
    channel_account_check_auth,
    channel_account_create,
    channel_account_pause,
    channel_account_resume,
    channel_account_update,
    listing_autolink,
    listing_link_sku,
    listing_set_stock_sync,
    retryable_kinds,
    sync_job_retry,
)
from oms.excel import xlsx_response
from oms.http import AuthedHttpRequest
from oms.listing import page_from_request, querystring_without, selected_queryset


def _account(pk: int) -> ChannelAccount:
    return get_object_or_404(ChannelAccount, pk=pk)


# --- Accounts ---------------------------------------------------------------------------------


@require_GET
# Managers watch every account's sync state and reach its listings and jobs from here; the
# account pages with credentials stay admin-only (channels.view_channelaccount).
@permission_required("channels.view_listing", raise_exception=True)
def account_list_view(request: AuthedHttpRequest) -> HttpResponse:
    filter_form = AccountFilterForm(request.GET or None)
    filters = filter_form.cleaned_data if filter_form.is_valid() else {}
    accounts = list(account_list(filters=filters))
    infos = {code: marketplace_info(code) for code in {a.marketplace for a in accounts}}
    rows = [(a, infos[a.marketplace]) for a in accounts]
    context = {"filter_form": filter_form, "rows": rows, "any_accounts": ChannelAccount.objects.exists()}
    if request.htmx:
        return render(request, "channels/account_list.html#results", context)
    return render(request, "channels/account_list.html", context)


@sensitive_post_parameters()  # error reports never carry the credentials typed in
@permission_required("channels.add_channelaccount", raise_exception=True)
def account_create_view(request: AuthedHttpRequest) -> HttpResponse:
    code = request.POST.get("marketplace") or request.GET.get("marketplace") or ""
    if code not in Marketplace.values or not marketplace_offered(code):
        return render(request, "channels/account_pick.html", {"marketplaces": marketplace_infos()})
    info = marketplace_info(code)
    form = AccountForm(request.POST or None, marketplace=info)
    if request.method == "POST" and form.is_valid():
        try:
            account = channel_account_create(
                actor=request.user,
                marketplace=code,
                name=form.cleaned_data["name"],
                base_url=form.cleaned_data.get("base_url", ""),
                credentials=form.credential_changes(),
                settings=form.settings_values(),
            )
        except AccountError as exc:
            form.add_service_errors(exc.fields, str(exc))
        else:
            messages.success(request, _("Channel account %(name)s added.") % {"name": account.name})
            return redirect("channels:account_detail", account.pk)
    return render(request, "channels/account_form.html", {"form": form, "info": info, "account": None})


@require_GET
@permission_required("channels.view_channelaccount", raise_exception=True)
def account_detail_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    account = _account(pk)
    context = {
        "account": account,
        "info": marketplace_info(account.marketplace),
        "credentials": account_credentials_view(account=account),
        "capability_rows": capability_rows(marketplace_info(account.marketplace)),
        "listing_counts": account_listing_counts(account=account),
        "jobs": account_recent_jobs(account=account),
        "last_test": SyncJob.objects.filter(account=account, kind=SyncJob.Kind.AUTH_CHECK)
        .order_by("-id")
        .first(),
        "example_available": 10,
        "example_exposed": account.exposed_quantity(10),
        "retryable": retryable_kinds(),
    }
    return render(request, "channels/account_detail.html", context)


@sensitive_post_parameters()
@permission_required("channels.change_channelaccount", raise_exception=True)
def account_edit_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    account = _account(pk)
    info = marketplace_info(account.marketplace)
    credentials = account_credentials_view(account=account)
    form = AccountForm(request.POST or None, marketplace=info, account=account, credentials=credentials)
    if request.method == "POST" and form.is_valid():
        try:
            channel_account_update(
                actor=request.user,
                account=account,
                name=form.cleaned_data["name"],
                base_url=form.cleaned_data.get("base_url"),
                credentials=form.credential_changes(),
                settings=form.settings_values(),
            )
        except AccountError as exc:
            form.add_service_errors(exc.fields, str(exc))
        else:
            messages.success(request, _("Saved."))
            return redirect("channels:account_detail", account.pk)
    context = {"form": form, "info": info, "account": account, "credentials": credentials}
    return render(request, "channels/account_form.html", context)


@require_POST
@permission_required("channels.change_channelaccount", raise_exception=True)
def account_pause_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    account = channel_account_pause(actor=request.user, account=_account(pk))
    messages.success(
        request, _("%(name)s is paused: no collection or stock push until resumed.") % {"name": account.name}
    )
    return redirect("channels:account_detail", account.pk)


@require_POST
@permission_required("channels.change_channelaccount", raise_exception=True)
def account_resume_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    account = channel_account_resume(actor=request.user, account=_account(pk))
    messages.success(request, _("%(name)s is active again.") % {"name": account.name})
    return redirect("channels:account_detail", account.pk)


@require_POST
@permission_required("channels.change_channelaccount", raise_exception=True)
def account_test_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """연결 테스트: run the adapter's auth check now and show its answer."""
    account = _account(pk)
    if marketplace_info(account.marketplace).adapter is None:
        messages.error(request, _("This marketplace has no API connection to test."))
        return redirect("channels:account_detail", account.pk)
    result = channel_account_check_auth(actor=request.user, account=account)
    if request.htmx:
        account.refresh_from_db()
        context = {
            "account": account,
            "last_test": result.job,
            "answer": result.message,
            "jobs": account_recent_jobs(account=account),
            "retryable": retryable_kinds(),
        }
        return render(request, "channels/account_test_result.html", context)
    if result.ok:
        messages.success(request, _("Connection test passed: %(message)s") % {"message": result.message})
    else:
        messages.error(request, _("Connection test failed: %(message)s") % {"message": result.message})
    return redirect("channels:account_detail", account.pk)


# --- Listings ---------------------------------------------------------------------------------


def _listing_rows_xlsx(account: ChannelAccount, queryset: Any) -> HttpResponseBase:
    headers = [
        _("Channel product id"),
        _("Channel option id"),
        _("Seller code"),
        _("Channel product name"),
        _("Channel option"),
        _("SKU code"),
        _("Linked by"),
        _("Status"),
        _("Excluded from stock sync"),
        _("Last sent stock"),
        _("Last sent price"),
        _("Last sent"),
        _("Push error"),
    ]
    rows = (
        [
            ln.external_product_id,
            ln.external_option_id,
            ln.seller_code,
            ln.display_name,
            ln.option_text,
            ln.sku.code if ln.sku else "",
            ln.get_linked_by_display() if ln.sku else "",
            ln.get_status_display(),
            _("Yes") if ln.stock_sync_excluded else _("No"),
            ln.last_pushed_quantity,
            ln.last_pushed_price,
            ln.last_pushed_at,
            ln.push_error,
        ]
        for ln in queryset.order_by(*LISTING_ORDER).iterator(chunk_size=500)
    )
    return xlsx_response(
        filename=f"listings-{account.pk}.xlsx", sheet=_("Listings"), headers=headers, rows=rows
    )


@require_GET
@permission_required("channels.view_listing", raise_exception=True)
def listing_list_view(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    account = _account(pk)
    filter_form = ListingFilterForm(request.GET or None)
    filters = filter_form.cleaned_data if filter_form.is_valid() else {}
    queryset = listing_list(account=account, filters=filters)
    if request.GET.get("format") == "xlsx":
        return _listing_rows_xlsx(account, queryset)
    page = page_from_request(request, queryset, order=LISTING_ORDER)
    context = {
        "account": account,
        "filter_form": filter_form,
        "page": page,
        "filter_query": querystring_without(request.GET, "after", "before", "format"),
        "total": queryset.count(),
        "counts": account_listing_counts(account=account),
    }
    if request.htmx:
        return render(request, "channels/listing_list.html#results", context)
    return render(request, "channels/listing_list.html", context)


def _back_to_listings(request: AuthedHttpRequest, account: ChannelAccount) -> HttpResponse:
    query = request.POST.get("filter_query", "")
    url = reverse("channels:listing_list", args=[account.pk])
    return redirect(f"{url}?{query}" if query else url)


@require_POST
@permission_required("channels.change_listing", raise_exception=True)
def listing_link_view(request: AuthedHttpRequest, pk: int, listing_pk: int) -> HttpResponse:
    account = _account(pk)
    listing = get_object_or_404(Listing.objects.select_related("sku"), pk=listing_pk, account=account)
    form = ListingLinkForm(request.POST)
    if form.is_valid():
        listing = listing_link_sku(actor=request.user, listing=listing, sku=form.cleaned_data["sku_code"])
        listing = Listing.objects.select_related("sku", "sku__product").get(pk=listing.pk)
        form = ListingLinkForm()
    if request.htmx:
        return render(
            request,
            "channels/listing_list.html#listing-row",
            {"ln": listing, "account": account, "link_form": form},
        )
    if form.errors:
        messages.error(request, " ".join(str(e) for e in form.errors.get("sku_code", [])))
    elif listing.sku:
        messages.success(request, _("Linked to %(code)s.") % {"code": listing.sku.code})
    else:
        messages.success(request, _("Link removed."))
    return _back_to_listings(request, account)


@require_POST
@permission_required("channels.change_listing", raise_exception=True)
def listing_stock_sync_view(request: AuthedHttpRequest, pk: int, listing_pk: int) -> HttpResponse:
    """The 재고 연동 제외 switch of one listing."""
    account = _account(pk)
    get_object_or_404(Listing, pk=listing_pk, account=account)
    excluded = request.POST.get("excluded") == "1"
    listing_set_stock_sync(
        actor=request.user, listings=Listing.objects.filter(pk=listing_pk, account=account), excluded=excluded
    )
    listing = Listing.objects.select_related("sku", "sku__product").get(pk=listing_pk)
    if request.htmx:
        return render(request, "channels/listing_list.html#listing-row", {"ln": listing, "account": account})
    return _back_to_listings(request, account)


@require_POST
@permission_required("channels.change_listing", raise_exception=True)
def listing_bulk_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Bulk actions on the checked listings, or on every listing matching the filters."""
    account = _account(pk)
    filter_form = ListingFilterForm(request.POST)
    filters = filter_form.cleaned_data if filter_form.is_valid() else {}
    selected = selected_queryset(request.POST, listing_list(account=account, filters=filters))
    action = request.POST.get("action")
    if action in {"exclude", "include"}:
        changed = listing_set_stock_sync(actor=request.user, listings=selected, excluded=action == "exclude")
        messages.success(
            request,
            ngettext("%(count)d listing updated.", "%(count)d listings updated.", changed)
            % {"count": changed},
        )
    elif action == "autolink":
        _autolink_message(request, listing_autolink(actor=request.user, account=account, listings=selected))
    else:
        messages.error(request, _("Choose an action."))
    return _back_to_listings(request, account)


def _autolink_message(request: AuthedHttpRequest, result: Any) -> None:
    if result.linked:
        messages.success(
            request,
            ngettext(
                "%(count)d listing linked to its SKU.",
                "%(count)d listings linked to their SKUs.",
                result.linked,
            )
            % {"count": result.linked},
        )
    left = result.unmatched + result.ambiguous
    if left:
        messages.warning(
            request,
            ngettext(
                "%(count)d listing has no SKU or seller code that matches one SKU: link it by hand.",
                "%(count)d listings have no SKU or seller code that matches one SKU: link them by hand.",
                left,
            )
            % {"count": left},
        )
    if not result.linked and not left:
        messages.info(request, _("Every listing is already linked."))


@require_POST
@permission_required("channels.change_listing", raise_exception=True)
def listing_autolink_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Link every unlinked listing of the account by SKU code, seller code or matching."""
    account = _account(pk)
    result = listing_autolink(
        actor=request.user, account=account, listings=Listing.objects.filter(account=account)
    )
    _autolink_message(request, result)
    return _back_to_listings(request, account)


@require_GET
@permission_required("channels.change_listing", raise_exception=True)
def sku_search_view(request: AuthedHttpRequest) -> HttpResponse:
    """<option>s for the SKU picker's datalist."""
    return render(
        request, "channels/sku_options.html", {"skus": sku_search(q=request.GET.get("sku_code", ""))}
    )


# --- Sync monitor -----------------------------------------------------------------------------


def _jobs_xlsx(queryset: Any) -> HttpResponseBase:
    headers = [
        _("ID"),
        _("Account"),
        _("Kind"),
        _("Status"),
        _("Created"),
        _("Started"),
        _("Finished"),
        _("Seconds"),
        pgettext("sync count", "Fetched"),
        pgettext("sync count", "Created"),
        pgettext("sync count", "Updated"),
        pgettext("sync count", "Skipped"),
        pgettext("sync count", "Failed"),
        _("Error"),
        _("Retry of"),
    ]
    rows = (
        [
            job.pk,
            job.account.name,
            job.get_kind_display(),
            job.get_status_display(),
            job.created_at,
            job.started_at,
            job.finished_at,
            job.duration_seconds,
            job.fetched,
            job.created,
            job.updated,
            job.skipped,
            job.failed,
            job.error,
            job.retry_of_id,
        ]
        for job in queryset.order_by("-pk").iterator(chunk_size=500)
    )
    return xlsx_response(filename="sync-jobs.xlsx", sheet=_("Sync jobs"), headers=headers, rows=rows)


@require_GET
@permission_required("channels.view_syncjob", raise_exception=True)
def job_list_view(request: AuthedHttpRequest) -> HttpResponseBase:
    filter_form = SyncJobFilterForm(request.GET or None)
    filters = filter_form.cleaned_data if filter_form.is_valid() else {}
    queryset = sync_job_list(filters=filters)
    if request.GET.get("format") == "xlsx":
        return _jobs_xlsx(queryset)
    page = page_from_request(request, queryset, order=("-pk",))
    context = {
        "filter_form": filter_form,
        "page": page,
        "filter_query": querystring_without(request.GET, "after", "before", "format"),
        "retryable": retryable_kinds(),
        "account": filters.get("account"),
    }
    if request.htmx:
        return render(request, "channels/job_list.html#results", context)
    return render(request, "channels/job_list.html", context)


@require_GET
@permission_required("channels.view_syncjob", raise_exception=True)
def job_detail_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    try:
        job = sync_job_get(pk=pk)
    except SyncJob.DoesNotExist:
        raise Http404 from None
    context = {
        "job": job,
        "calls": sync_job_calls(job=job),
        "retries": list(job.retries.order_by("-id")[:10]),
        "retryable": retryable_kinds(),
    }
    return render(request, "channels/job_detail.html", context)


@require_POST
@permission_required("channels.add_syncjob", raise_exception=True)
def job_retry_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(SyncJob.objects.select_related("account"), pk=pk)
    try:
        outcome = sync_job_retry(actor=request.user, job=job)
    except RetryRefused as exc:
        messages.error(request, str(exc))
        return redirect("channels:job_detail", job.pk)
    messages.success(request, outcome.message)
    if outcome.job is not None:
        return redirect("channels:job_detail", outcome.job.pk)
    return redirect(f"{reverse('channels:job_list')}?account={job.account_id}")
