"""The 샌드박스 마켓 page: what the sandbox marketplace received (newest first, refreshing
itself), its options with the stock the OMS told it, its orders and their states, and its API
keys. Managers and admins read it; placing an order by hand and the keys are for admins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from channels.models import ChannelAccount, Marketplace
from channels.sandbox.forms import EventFilterForm, GenerateForm, KeyIssueForm
from channels.sandbox.generator import next_round_at, sandbox_is_live, sandbox_orders_generate
from channels.sandbox.selectors import (
    sandbox_counts,
    sandbox_event_list,
    sandbox_key_list,
    sandbox_listing_list,
    sandbox_order_list,
)
from channels.sandbox.services import sandbox_key_issue, sandbox_key_revoke
from channels.sandbox_models import SandboxApiKey, SandboxEvent
from oms.http import AuthedHttpRequest
from oms.listing import page_from_request, querystring_without

EVENTS_PER_PAGE = 30
RECENT_ORDERS = 15
LISTINGS_SHOWN = 200
REFRESH_SECONDS = 3


@dataclass(frozen=True)
class EventItem:
    """One item of an event's details, as the page shows it."""

    id: str
    text: str
    ok: bool = True
    code: str = ""
    message: str = ""


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _change_text(item: dict[str, Any]) -> str:
    parts = [str(item.get("name", ""))] if item.get("name") and "from" in item else []
    if "from" in item:
        parts.append(f"{_n(item['from'])} → {_n(item.get('to'))}")
    labels = {"price": _("price"), "status": _("sale status"), "name": _("name")}
    for key, label in labels.items():
        value = item.get(key)
        if isinstance(value, list) and len(value) == 2:
            parts.append(f"{label} {_n(value[0])} → {_n(value[1])}")
    if not parts and item.get("name"):
        parts.append(str(item["name"]))
    return " · ".join(parts)


def event_items(event: SandboxEvent) -> list[EventItem]:
    """The details of an event (its payload, whose shape depends on the kind) as rows."""
    items = []
    for raw in event.payload if isinstance(event.payload, list) else []:
        if not isinstance(raw, dict):
            continue
        ident = str(raw.get("id", ""))
        if event.kind == SandboxEvent.Kind.ORDER_PLACED:
            text = _("×%(quantity)s, %(left)s left in stock") % {
                "quantity": raw.get("quantity"),
                "left": raw.get("stock_left"),
            }
        elif event.kind == SandboxEvent.Kind.ORDERS_READ:
            text = ", ".join(str(line) for line in raw.get("lines", []))
        elif event.kind == SandboxEvent.Kind.DISPATCH:
            text = f"{raw.get('courier', '')} {raw.get('tracking', '')}".strip()
        elif event.kind == SandboxEvent.Kind.FAULT:
            ident, text = str(raw.get("status", "")), str(raw.get("path", ""))
        else:
            text = _change_text(raw)
        items.append(
            EventItem(
                id=ident,
                text=text,
                ok=raw.get("ok", True) is not False,
                code=str(raw.get("code", "")),
                message=str(raw.get("message", "")),
            )
        )
    return items


def _context(request: AuthedHttpRequest, **extra: Any) -> dict[str, Any]:
    filter_form = EventFilterForm(request.GET or None)
    kind = filter_form.cleaned_data.get("kind", "") if filter_form.is_valid() else ""
    page = page_from_request(request, sandbox_event_list(kind=kind), size=EVENTS_PER_PAGE)
    api_base = request.build_absolute_uri(reverse("sandbox:api_auth")).removesuffix("/auth")
    return {
        "enabled": settings.OMS_SANDBOX_ENABLED,
        "live": sandbox_is_live(),
        "next_round": next_round_at(),
        "fault_rate": float(getattr(settings, "OMS_SANDBOX_FAULT_RATE", 0.0) or 0.0),
        "api_base": api_base,
        "accounts": ChannelAccount.objects.filter(marketplace=Marketplace.SANDBOX).order_by("name"),
        "counts": sandbox_counts(),
        "filter_form": filter_form,
        "kind": kind,
        "kinds": EventFilterForm.base_fields["kind"].choices,  # type: ignore[attr-defined]
        "page": page,
        "events": [(event, event_items(event)) for event in page.items],
        "filter_query": querystring_without(request.GET, "after", "before"),
        "listings": list(sandbox_listing_list()[:LISTINGS_SHOWN]),
        "orders": list(sandbox_order_list()[:RECENT_ORDERS]),
        "keys": list(sandbox_key_list()) if request.user.has_perm("channels.view_sandboxapikey") else [],
        "generate_form": GenerateForm(),
        "key_form": KeyIssueForm(),
        "refresh_seconds": REFRESH_SECONDS,
        **extra,
    }


def _page(request: AuthedHttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    request.nav_section = "channels"  # type: ignore[attr-defined]
    context = _context(request, **extra)
    if request.htmx and request.htmx.target == "sandbox-live":
        return render(request, "channels/sandbox_page.html#live", context)
    return render(request, "channels/sandbox_page.html", context, status=status)


@require_GET
@permission_required("channels.view_sandboxevent", raise_exception=True)
def sandbox_page_view(request: AuthedHttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@permission_required("channels.add_sandboxorder", raise_exception=True)
def sandbox_generate_view(request: AuthedHttpRequest) -> HttpResponse:
    form = GenerateForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, generate_form=form)
    wanted = form.cleaned_data["count"]
    placed = sandbox_orders_generate(count=wanted, actor=request.user)
    if not placed:
        messages.warning(
            request, _("No option is on sale with stock left in the sandbox, so no order was placed.")
        )
    elif len(placed) < wanted:
        messages.warning(
            request,
            _("Only %(placed)d of %(wanted)d orders were placed: the sandbox ran out of stock.")
            % {"placed": len(placed), "wanted": wanted},
        )
    else:
        messages.success(
            request,
            ngettext(
                "%(count)d order placed in the sandbox; the next collection brings it in.",
                "%(count)d orders placed in the sandbox; the next collection brings them in.",
                len(placed),
            )
            % {"count": len(placed)},
        )
    return redirect("sandbox:page")


@require_POST
@permission_required("channels.add_sandboxapikey", raise_exception=True)
def sandbox_key_issue_view(request: AuthedHttpRequest) -> HttpResponse:
    form = KeyIssueForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, key_form=form)
    key, token = sandbox_key_issue(actor=request.user, label=form.cleaned_data["label"])
    # Shown once, on this answer only: the sandbox keeps the token's hash, not the token.
    response = _page(request, issued_key=key, issued_token=token)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@permission_required("channels.change_sandboxapikey", raise_exception=True)
def sandbox_key_revoke_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(SandboxApiKey, pk=pk)
    sandbox_key_revoke(actor=request.user, key=key)
    messages.success(
        request,
        _("Key ····%(last4)s revoked: calls with it are now refused (401).") % {"last4": key.last4},
    )
    return redirect("sandbox:page")
