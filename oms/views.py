from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_not_required, permission_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from oms.dashboard import dashboard_cards
from oms.excel import xlsx_response
from oms.forms import (
    AuditFilterForm,
    CompanyForm,
    LoginForm,
    PasswordResetForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
)
from oms.health import health
from oms.http import AuthedHttpRequest
from oms.listing import page_from_request, querystring_without, selected_queryset
from oms.models import Company, User
from oms.roles import Role
from oms.search import search_all
from oms.selectors import audit_list, job_list_for, user_list
from oms.services import (
    SelfDeactivationError,
    company_update,
    user_create,
    user_reset_password,
    user_set_active,
    user_update,
)
from oms.templatetags.oms_tags import change_rows

# --- Sign-in ----------------------------------------------------------------------------------


class OmsLoginView(LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


# --- Health and dashboard ---------------------------------------------------------------------


@login_not_required
@never_cache
@require_GET
def healthz_view(request: HttpRequest) -> JsonResponse:
    report = health()
    body = {
        "status": "ok" if report.ok else "degraded",
        "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in report.checks},
        "worker_last_heartbeat": report.worker_seen_at.isoformat() if report.worker_seen_at else None,
    }
    return JsonResponse(body, status=200 if report.ok else 503)


def dashboard_view(request: AuthedHttpRequest) -> HttpResponse:
    context = {"health": health(), "now": timezone.now(), "cards": dashboard_cards(request)}
    return render(request, "oms/dashboard.html", context)


def search_view(request: AuthedHttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    sections = search_all(request, query)
    return render(request, "oms/search.html", {"query": query, "sections": sections})


# --- Settings ---------------------------------------------------------------------------------


def settings_home_view(request: AuthedHttpRequest) -> HttpResponse:
    return render(request, "oms/settings_home.html")


@permission_required("oms.view_company", raise_exception=True)
def company_view(request: AuthedHttpRequest) -> HttpResponse:
    company = Company.objects.filter(pk=1).first()
    can_edit = request.user.has_perm("oms.change_company")
    if request.method == "POST":
        if not can_edit:
            return render(request, "403.html", status=403)
        form = CompanyForm(request.POST, instance=company or Company(pk=1))
        if form.is_valid():
            company_update(actor=request.user, values=form.cleaned_data)
            messages.success(request, _("Company details saved."))
            return redirect("company")
    else:
        form = CompanyForm(instance=company)
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "oms/company.html", {"form": form, "can_edit": can_edit})


def password_change_view(request: AuthedHttpRequest) -> HttpResponse:
    form = PasswordChangeForm(user=request.user, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        messages.success(request, _("Your password has been changed."))
        return redirect("settings_home")
    return render(request, "oms/password_change.html", {"form": form})


# --- Users ------------------------------------------------------------------------------------


@permission_required("oms.view_user", raise_exception=True)
def user_list_view(request: AuthedHttpRequest) -> HttpResponseBase:
    filter_form = UserFilterForm(request.GET or None)
    filters = filter_form.cleaned_data if filter_form.is_valid() else {}
    queryset = user_list(filters=filters)
    if request.GET.get("format") == "xlsx":
        rows = (
            [
                u.pk,
                u.username,
                u.display_name,
                u.email,
                str(role.label) if (role := Role.for_user(u)) else "",
                _("Yes") if u.is_active else _("No"),
                u.last_login,
                u.date_joined,
            ]
            for u in queryset.order_by("username").iterator(chunk_size=500)
        )
        headers = [
            _("ID"),
            _("User name"),
            _("Name"),
            _("E-mail"),
            _("Role"),
            _("Active"),
            _("Last login"),
            _("Joined"),
        ]
        return xlsx_response(filename="users.xlsx", sheet=_("Users"), headers=headers, rows=rows)
    page = page_from_request(request, queryset, order=("username", "pk"))
    context: dict[str, Any] = {
        "filter_form": filter_form,
        "page": page,
        "users": [(u, Role.for_user(u)) for u in page.items],
        "filter_query": querystring_without(request.GET, "after", "before", "format"),
        "total": queryset.count(),
    }
    if request.htmx:
        return render(request, "oms/user_list.html#results", context)
    return render(request, "oms/user_list.html", context)


@require_POST
@permission_required("oms.change_user", raise_exception=True)
def user_bulk_view(request: AuthedHttpRequest) -> HttpResponse:
    """Bulk activate/deactivate the checked users, or every user matching the filters."""
    filter_form = UserFilterForm(request.POST)
    filters = filter_form.cleaned_data if filter_form.is_valid() else {}
    action = request.POST.get("action")
    if action not in {"activate", "deactivate"}:
        messages.error(request, _("Choose an action."))
        return redirect("user_list")
    changed = skipped = 0
    for user in selected_queryset(request.POST, user_list(filters=filters)).order_by("pk"):
        try:
            before = user.is_active
            user_set_active(actor=request.user, user=user, active=action == "activate")
            changed += int(before != user.is_active)
        except SelfDeactivationError:
            skipped += 1
    messages.success(
        request, ngettext("%(count)d user updated.", "%(count)d users updated.", changed) % {"count": changed}
    )
    if skipped:
        messages.warning(request, _("You cannot deactivate your own account; it was left active."))
    return redirect("user_list")


@permission_required("oms.add_user", raise_exception=True)
def user_create_view(request: AuthedHttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = user_create(
            actor=request.user,
            username=data["username"],
            password=data["password1"],
            role=Role[data["role"]],
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
        )
        messages.success(request, _("User %(name)s created.") % {"name": user.username})
        return redirect("user_list")
    return render(request, "oms/user_form.html", {"form": form, "creating": True})


@permission_required("oms.change_user", raise_exception=True)
def user_edit_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    role = Role.for_user(user)
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": role.name if role else "",
    }
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        new_role = Role[data["role"]]
        if user.pk == request.user.pk and new_role is not Role.ADMIN:
            form.add_error("role", _("You cannot take the administrator role from yourself."))
        else:
            user_update(
                actor=request.user,
                user=user,
                role=new_role,
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
            )
            messages.success(request, _("User %(name)s saved.") % {"name": user.username})
            return redirect("user_list")
    return render(
        request,
        "oms/user_form.html",
        {"form": form, "edited": user, "password_form": PasswordResetForm(user=user)},
    )


@require_POST
@permission_required("oms.change_user", raise_exception=True)
def user_set_active_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        user_set_active(actor=request.user, user=user, active=active)
    except SelfDeactivationError:
        messages.error(request, _("You cannot deactivate your own account."))
    else:
        if active:
            messages.success(request, _("User %(name)s activated.") % {"name": user.username})
        else:
            messages.success(request, _("User %(name)s deactivated.") % {"name": user.username})
    return redirect("user_edit", pk=user.pk)


@require_POST
@permission_required("oms.change_user", raise_exception=True)
def user_reset_password_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    form = PasswordResetForm(request.POST, user=user)
    if form.is_valid():
        user_reset_password(actor=request.user, user=user, password=form.cleaned_data["password1"])
        messages.success(request, _("The password of %(name)s has been reset.") % {"name": user.username})
        return redirect("user_edit", pk=user.pk)
    role = Role.for_user(user)
    edit_form = UserEditForm(
        initial={
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "role": role.name if role else "",
        }
    )
    return render(
        request,
        "oms/user_form.html",
        {"form": edit_form, "edited": user, "password_form": form},
        status=400,
    )


# --- Audit trail ------------------------------------------------------------------------------


@permission_required("oms.view_auditlog", raise_exception=True)
def audit_list_view(request: AuthedHttpRequest) -> HttpResponseBase:
    filter_form = AuditFilterForm(request.GET or None)
    filters = filter_form.cleaned_data if filter_form.is_valid() else {}
    queryset = audit_list(filters=filters)
    if request.GET.get("format") == "xlsx":
        rows = (
            [
                e.at,
                e.actor.username if e.actor else "",
                e.action,
                e.content_type.name if e.content_type else "",
                e.object_id,
                e.object_repr,
                "; ".join(str(r) for r in change_rows(e.changes)),
                e.ip_address or "",
            ]
            for e in queryset.order_by("-pk").iterator(chunk_size=2000)
        )
        headers = [
            _("Time"),
            _("User"),
            _("Action"),
            _("Object type"),
            _("Object id"),
            _("Object"),
            _("Changes"),
            _("IP address"),
        ]
        return xlsx_response(filename="audit-log.xlsx", sheet=_("Audit log"), headers=headers, rows=rows)
    page = page_from_request(request, queryset)
    context = {
        "filter_form": filter_form,
        "page": page,
        "filter_query": querystring_without(request.GET, "after", "before", "format"),
    }
    if request.htmx:
        return render(request, "oms/audit_list.html#results", context)
    return render(request, "oms/audit_list.html", context)


# --- Jobs -------------------------------------------------------------------------------------


@permission_required("oms.view_job", raise_exception=True)
def job_detail_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(job_list_for(user=request.user), pk=pk)
    template = "oms/job_detail.html#progress" if request.htmx else "oms/job_detail.html"
    return render(request, template, {"job": job})


@permission_required("oms.view_job", raise_exception=True)
def job_list_view(request: AuthedHttpRequest) -> HttpResponse:
    queryset = job_list_for(user=request.user)
    page = page_from_request(request, queryset)
    return render(
        request,
        "oms/job_list.html",
        {"page": page, "filter_query": querystring_without(request.GET, "after", "before")},
    )
