"""주문서 업로드: upload an order sheet -> preview (new / already present / bad rows) -> register
the valid orders or cancel; the list of uploads; the sellers' own sheet profiles per account.
Thin: a form, one service call, a page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from channels.models import ChannelAccount
from oms.excel import xlsx_response
from oms.http import AuthedHttpRequest
from oms.listing import page_from_request, querystring_without
from oms.sheets import PasswordRequired, WrongPassword
from orders.excel_profiles import BUILTIN_PROFILES, ORDER_FIELDS
from orders.forms_import import FIELD_PREFIX, ExcelProfileForm, OrderUploadForm, import_accounts
from orders.models import ExcelProfile, ImportBatch, Order
from orders.services_import import (
    OrderImportError,
    batch_can_commit,
    batch_is_busy,
    excel_profile_delete,
    excel_profile_save,
    order_import_cancel,
    order_import_start_commit,
    order_import_upload,
)

ERRORS_PER_PAGE = 100
ORDERS_SHOWN = 50


def _nav(request: AuthedHttpRequest) -> None:
    request.nav_section = "orders"  # type: ignore[attr-defined]


def batch_list() -> QuerySet[ImportBatch]:
    return ImportBatch.objects.select_related("account", "uploaded_by", "job")


# --- Upload --------------------------------------------------------------------------------------


@permission_required("orders.add_importbatch", raise_exception=True)
def import_upload_view(request: AuthedHttpRequest) -> HttpResponse:
    _nav(request)
    initial: dict[str, Any] = {}
    account_id = request.GET.get("account", "")
    if account_id.isdigit():
        initial["account"] = int(account_id)
    form = OrderUploadForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            batch = order_import_upload(
                account=form.cleaned_data["account"],
                upload=form.cleaned_data["file"],
                password=form.cleaned_data["password"] or "",
                profile=form.sheet_profile(),
                actor=request.user,
            )
        except OrderImportError as exc:
            locked = isinstance(exc.__cause__, PasswordRequired | WrongPassword)
            form.add_error("password" if locked else "file", str(exc))
        else:
            return redirect("orders:import_detail", batch.pk)
    context = {
        "form": form,
        "recent": batch_list().order_by("-pk")[:10],
        "builtins": BUILTIN_PROFILES.values(),
        "has_accounts": import_accounts().exists(),
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "orders/import_upload.html", context, status=status)


@require_GET
@permission_required("orders.view_importbatch", raise_exception=True)
def import_list_view(request: AuthedHttpRequest) -> HttpResponse:
    _nav(request)
    qs = batch_list()
    account_id = request.GET.get("account", "")
    if account_id.isdigit():
        qs = qs.filter(account_id=int(account_id))
    status = request.GET.get("status", "")
    if status in ImportBatch.Status.values:
        qs = qs.filter(status=status)
    page = page_from_request(request, qs, order=("-pk",))
    context = {
        "page": page,
        "filter_query": querystring_without(request.GET, "after", "before"),
        "accounts": ChannelAccount.objects.order_by("name"),
        "statuses": ImportBatch.Status.choices,
        "account_id": account_id,
        "status": status,
    }
    return render(request, "orders/import_list.html", context)


# --- Preview and result --------------------------------------------------------------------------


def _detail_context(request: AuthedHttpRequest, batch: ImportBatch) -> dict[str, Any]:
    counts = batch.counts or {}
    errors = Paginator(batch.errors or [], ERRORS_PER_PAGE)
    error_page = errors.get_page(request.GET.get("page"))
    result = counts.get("result") or {}
    context: dict[str, Any] = {
        "batch": batch,
        "counts": counts,
        "result": result,
        "error_page": error_page,
        "busy": batch_is_busy(batch),
        "can_commit": batch_can_commit(batch) and request.user.has_perm("orders.add_importbatch"),
        "can_cancel": batch.status == ImportBatch.Status.PREVIEW
        and not batch_is_busy(batch)
        and request.user.has_perm("orders.add_importbatch"),
        "order_list_url": f"{reverse('orders:order_list')}?batch={batch.pk}",
    }
    if batch.status == ImportBatch.Status.COMMITTED:
        context["orders"] = (
            Order.objects.filter(import_batch=batch).prefetch_related("lines").order_by("pk")[:ORDERS_SHOWN]
        )
        context["matching_url"] = f"{reverse('orders:matching')}?account={batch.account_id}"
        context["backorders_url"] = f"{reverse('orders:backorders')}?account={batch.account_id}"
    return context


@require_GET
@permission_required("orders.view_importbatch", raise_exception=True)
def import_detail_view(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    _nav(request)
    batch = get_object_or_404(batch_list(), pk=pk)
    if request.htmx and request.GET.get("part") == "progress":
        if not batch_is_busy(batch):
            return HttpResponseClientRefresh()  # finished: show the result page
        return render(request, "orders/import_detail.html#progress", {"batch": batch, "busy": True})
    return render(request, "orders/import_detail.html", _detail_context(request, batch))


@require_POST
@permission_required("orders.add_importbatch", raise_exception=True)
def import_commit_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(batch_list(), pk=pk)
    try:
        batch = order_import_start_commit(batch=batch, actor=request.user)
    except OrderImportError as exc:
        messages.error(request, str(exc))
        return redirect("orders:import_detail", batch.pk)
    if batch.status == ImportBatch.Status.COMMITTED:
        created = (batch.counts.get("result") or {}).get("orders_created", 0)
        messages.success(request, _("Registered: %(n)s new orders.") % {"n": created})
    elif batch_is_busy(batch):
        messages.info(request, _("Registering the orders; this page shows the progress."))
    return redirect("orders:import_detail", batch.pk)


@require_POST
@permission_required("orders.add_importbatch", raise_exception=True)
def import_cancel_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(batch_list(), pk=pk)
    try:
        order_import_cancel(batch=batch, actor=request.user)
    except OrderImportError as exc:
        messages.error(request, str(exc))
        return redirect("orders:import_detail", batch.pk)
    messages.info(request, _("The upload was cancelled; no order from it was registered."))
    return redirect("orders:import")


@require_GET
@permission_required("orders.view_importbatch", raise_exception=True)
def import_errors_view(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    batch = get_object_or_404(batch_list(), pk=pk)
    return xlsx_response(
        filename=f"order_upload_errors_{batch.pk}.xlsx",
        sheet=_("Bad rows"),
        headers=[_("Row"), _("Column"), _("Reason"), _("Value")],
        rows=batch.errors or [],
    )


# --- Profiles ---------------------------------------------------------------------------------


@require_GET
@permission_required("orders.view_excelprofile", raise_exception=True)
def profile_list_view(request: AuthedHttpRequest) -> HttpResponse:
    _nav(request)
    accounts = list(import_accounts())
    profiles = ExcelProfile.objects.select_related("account").order_by("account__name", "name")
    by_account: dict[int, list[ExcelProfile]] = {}
    for profile in profiles:
        by_account.setdefault(profile.account_id, []).append(profile)
    groups = [(account, by_account.get(account.pk, [])) for account in accounts]
    # Retired accounts keep their profiles visible.
    listed = {a.pk for a in accounts}
    groups += [(p[0].account, p) for aid, p in by_account.items() if aid not in listed]
    context = {
        "groups": groups,
        "builtins": BUILTIN_PROFILES.values(),
        "fields": ORDER_FIELDS.values(),
    }
    return render(request, "orders/profile_list.html", context)


def _profile_form_page(
    request: AuthedHttpRequest, *, account: ChannelAccount, profile: ExcelProfile | None
) -> HttpResponse:
    _nav(request)
    form = ExcelProfileForm(request.POST or None, account=account, instance=profile)
    if request.method == "POST" and form.is_valid():
        saved = excel_profile_save(
            account=account,
            profile=profile,
            name=form.cleaned_data["name"],
            sheet_name=form.cleaned_data["sheet_name"] or "",
            header_row=form.cleaned_data["header_row"],
            mapping=form.cleaned_data["mapping"],
            actor=request.user,
        )
        messages.success(request, _("Profile %(name)s saved.") % {"name": saved.name})
        return redirect("orders:import_profiles")
    context = {
        "form": form,
        "account": account,
        "profile": profile,
        "field_prefix": FIELD_PREFIX,
        "builtins": BUILTIN_PROFILES.values(),
    }
    return render(request, "orders/profile_form.html", context, status=400 if form.errors else 200)


@permission_required("orders.add_excelprofile", raise_exception=True)
def profile_create_view(request: AuthedHttpRequest) -> HttpResponse:
    account_id = request.GET.get("account", "")
    accounts = import_accounts()
    if not account_id.isdigit():
        _nav(request)
        return render(request, "orders/profile_account.html", {"accounts": accounts})
    account = get_object_or_404(accounts, pk=int(account_id))
    return _profile_form_page(request, account=account, profile=None)


@permission_required("orders.change_excelprofile", raise_exception=True)
def profile_edit_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(ExcelProfile.objects.select_related("account"), pk=pk)
    return _profile_form_page(request, account=profile.account, profile=profile)


@require_POST
@permission_required("orders.delete_excelprofile", raise_exception=True)
def profile_delete_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    profile = get_object_or_404(ExcelProfile.objects.select_related("account"), pk=pk)
    name = profile.name
    excel_profile_delete(profile=profile, actor=request.user)
    messages.info(request, _("Profile %(name)s deleted.") % {"name": name})
    return redirect("orders:import_profiles")
