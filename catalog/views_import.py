"""Bulk product Excel (일괄등록/수정): template and catalogue downloads, upload -> preview ->
apply. The upload/preview/apply pages are shared with the stock upload (inventory.views_import)
through the helpers at the bottom; each app's views keep their own permissions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from catalog import excel
from catalog.services_import import (
    STATUSES,
    ImportError_,
    import_session_cancel,
    import_session_create,
    import_session_plan,
    import_session_start_commit,
    import_session_start_preview,
)
from oms.http import AuthedHttpRequest
from oms.models import ImportSession, User
from oms.sheets import SheetError, SheetUploadForm

PAGE_SIZE = 100
IMPORT_PERMS = ("catalog.add_product", "catalog.change_product")


# --- Products ------------------------------------------------------------------------------------


@require_GET
@permission_required("catalog.view_product", raise_exception=True)
def product_import_template_view(request: AuthedHttpRequest) -> HttpResponseBase:
    return excel.template_response()


@require_GET
@permission_required("catalog.view_product", raise_exception=True)
def product_import_export_view(request: AuthedHttpRequest) -> HttpResponseBase:
    return excel.catalogue_response(excel.catalogue_skus(), filename="products.xlsx")


@permission_required(IMPORT_PERMS, raise_exception=True)
def product_import_view(request: AuthedHttpRequest) -> HttpResponse:
    return upload_page(request, PRODUCTS, {"guide": excel.guide_lines()})


@require_GET
@permission_required(IMPORT_PERMS, raise_exception=True)
def product_import_detail_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return detail_page(request, PRODUCTS, pk)


@require_POST
@permission_required(IMPORT_PERMS, raise_exception=True)
def product_import_commit_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return commit_action(request, PRODUCTS, pk)


@require_POST
@permission_required(IMPORT_PERMS, raise_exception=True)
def product_import_cancel_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return cancel_action(request, PRODUCTS, pk)


@require_GET
@permission_required(IMPORT_PERMS, raise_exception=True)
def product_import_errors_view(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    return errors_download(request, PRODUCTS, pk)


# --- Shared by the product and stock uploads -------------------------------------------------------


@dataclass(frozen=True)
class ImportPage:
    """What differs between the product and the stock upload pages."""

    kind: str
    namespace: str  # catalog | inventory
    prefix: str  # product_import | stock_import
    nav_section: str
    template_dir: str
    list_url_name: str  # where the imported things are seen afterwards
    key_headers: tuple[str, str]  # what the two key cells of a preview row are

    def url(self, name: str, *args: Any) -> str:
        suffix = f"_{name}" if name else ""
        return reverse(f"{self.namespace}:{self.prefix}{suffix}", args=args)

    def list_url(self) -> str | None:
        try:
            return reverse(self.list_url_name)
        except NoReverseMatch:
            return None


PRODUCTS = ImportPage(
    kind=ImportSession.Kind.PRODUCTS,
    namespace="catalog",
    prefix="product_import",
    nav_section="catalog",
    template_dir="catalog",
    list_url_name="catalog:product_list",
    key_headers=("상품코드", "SKU코드"),
)


def sessions_for(user: User, kind: str) -> QuerySet[ImportSession]:
    """Uploads a user may see: their own; administrators see everyone's."""
    qs = ImportSession.objects.filter(kind=kind).select_related("owner", "job")
    if user.has_perm("oms.view_importsession"):
        return qs
    return qs.filter(owner=user)


def _urls(page: ImportPage, session: ImportSession | None = None) -> dict[str, Any]:
    urls: dict[str, Any] = {
        "upload": page.url(""),
        "template": page.url("template"),
        "export": page.url("export"),
        "list": page.list_url(),
    }
    if session is not None:
        for name in ("detail", "commit", "cancel", "errors"):
            urls[name] = page.url(name, session.pk)
    return urls


def upload_page(
    request: AuthedHttpRequest, page: ImportPage, extra: dict[str, Any] | None = None
) -> HttpResponse:
    request.nav_section = page.nav_section  # type: ignore[attr-defined]
    form = SheetUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            session, _table = import_session_create(
                owner=request.user,
                kind=page.kind,
                upload=form.cleaned_data["file"],
                password=form.cleaned_data["password"] or "",
            )
        except SheetError as exc:
            form.add_error("file", str(exc))
        else:
            import_session_start_preview(session=session, actor=request.user)
            return redirect(page.url("detail", session.pk))
    recent = sessions_for(request.user, page.kind).order_by("-pk")[:10]
    context = {"form": form, "recent": recent, "urls": _urls(page), "page": page, **(extra or {})}
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, f"{page.template_dir}/import_upload.html", context, status=status)


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


@dataclass(frozen=True)
class Change:
    header: str
    old: str
    new: str
    is_new: bool  # nothing before: show only the new value


@dataclass(frozen=True)
class RowView:
    row: int
    status: str
    key: list[str]
    changes: list[Change]
    errors: list[Any]


def _row_view(row: Any) -> RowView:
    changes = [Change(h, _show(old), _show(new), old is None or old == "") for h, old, new in row.changes]
    return RowView(row.row, row.status, row.key, changes, row.errors)


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    count: int
    active: bool


def detail_page(request: AuthedHttpRequest, page: ImportPage, pk: int) -> HttpResponse:
    request.nav_section = page.nav_section  # type: ignore[attr-defined]
    session = get_object_or_404(sessions_for(request.user, page.kind), pk=pk)
    plan = import_session_plan(session)
    counts = session.counts
    labels = {
        "error": _("Errors"),
        "create": _("New"),
        "update": _("Changed"),
        "unchanged": _("Unchanged"),
        "all": _("All rows"),
    }
    default_tab = "error" if counts.get("error") else "all"
    tab = request.GET.get("tab") or default_tab
    if tab not in labels:
        tab = default_tab
    tabs = [
        Tab(key, labels[key], counts.get("rows", 0) if key == "all" else counts.get(key, 0), key == tab)
        for key in (*STATUSES, "all")
        if key == "all" or counts.get(key) or key == "error"
    ]
    rows: list[Any] = []
    page_no, pages = 1, 1
    if plan is not None:
        chosen = plan.rows if tab == "all" else [r for r in plan.rows if r.status == tab]
        pages = max(1, (len(chosen) + PAGE_SIZE - 1) // PAGE_SIZE)
        try:
            page_no = min(max(1, int(request.GET.get("page", "1"))), pages)
        except ValueError:
            page_no = 1
        rows = [_row_view(r) for r in chosen[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE]]
    context = {
        "session": session,
        "plan": plan,
        "counts": counts,
        "tabs": tabs,
        "tab": tab,
        "rows": rows,
        "page_no": page_no,
        "pages": pages,
        "prev_page": page_no - 1 if page_no > 1 else None,
        "next_page": page_no + 1 if page_no < pages else None,
        "urls": _urls(page, session),
        "page": page,
        "job": session.job if session.is_busy else None,
    }
    return render(request, f"{page.template_dir}/import_detail.html", context)


def commit_action(request: AuthedHttpRequest, page: ImportPage, pk: int) -> HttpResponse:
    session = get_object_or_404(sessions_for(request.user, page.kind), pk=pk)
    try:
        session = import_session_start_commit(session=session, actor=request.user)
    except ImportError_ as exc:
        messages.error(request, str(exc))
        return redirect(page.url("detail", session.pk))
    if session.status == ImportSession.Status.COMMITTED:
        messages.success(request, _("The sheet was applied."))
    elif session.status == ImportSession.Status.COMMITTING:
        messages.info(request, _("Applying the sheet; this page shows the progress."))
    elif session.message:
        messages.warning(request, session.message)
    return redirect(page.url("detail", session.pk))


def cancel_action(request: AuthedHttpRequest, page: ImportPage, pk: int) -> HttpResponse:
    session = get_object_or_404(sessions_for(request.user, page.kind), pk=pk)
    try:
        import_session_cancel(session=session)
    except ImportError_ as exc:
        messages.error(request, str(exc))
        return redirect(page.url("detail", session.pk))
    messages.info(request, _("The upload was cancelled; nothing was saved."))
    return redirect(page.url(""))


def errors_download(request: AuthedHttpRequest, page: ImportPage, pk: int) -> HttpResponseBase:
    session = get_object_or_404(sessions_for(request.user, page.kind), pk=pk)
    plan = import_session_plan(session)
    rows = [r for r in plan.rows if r.status == "error"] if plan is not None else []
    headers = plan.headers if plan is not None else []
    return excel.error_rows_response(rows, headers=headers, filename=f"upload_errors_{session.pk}.xlsx")
