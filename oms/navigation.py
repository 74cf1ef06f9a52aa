"""The left navigation. An entry whose page a later issue has not built yet has no URL name to
reverse and is shown disabled; an entry the user has no permission for is not shown."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavEntry:
    key: str
    label: str | Promise
    url_name: str
    permission: str | None
    icon: str
    # (url name, permission) pairs tried in order when the user lacks `permission`.
    fallbacks: tuple[tuple[str, str], ...] = ()


NAVIGATION = [
    NavEntry("dashboard", _("Dashboard"), "dashboard", None, "▦"),
    NavEntry("orders", _("Orders"), "orders:order_list", "orders.view_order", "☰"),
    NavEntry("catalog", _("Products"), "catalog:product_list", "catalog.view_product", "◈"),
    NavEntry("inventory", _("Stock"), "inventory:stock_list", "inventory.view_stocklevel", "▤"),
    NavEntry("shipping", _("Shipping"), "shipping:desk", "shipping.view_shipment", "⇪"),
    NavEntry("cs", _("CS"), "cs:inbox", "cs.view_claim", "✉"),
    NavEntry("analytics", _("Analytics"), "analytics:home", "analytics.view_dailysales", "◔"),
    NavEntry(
        "channels",
        _("Channels"),
        "channels:account_list",
        # Managers reach the account list (sync state, links to listings and the sync monitor);
        # the account pages with credentials stay admin-only.
        "channels.view_listing",
        "⇄",
    ),
    NavEntry("settings", _("Settings"), "settings_home", None, "⚙"),
]


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str | Promise
    icon: str
    url: str | None
    active: bool


def _reverse(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def navigation_for(request: HttpRequest) -> list[NavItem]:
    user = request.user
    path = request.path
    items = []
    for entry in NAVIGATION:
        try:
            url: str | None = reverse(entry.url_name)
        except NoReverseMatch:
            url = None
        if url is not None and entry.permission and not user.has_perm(entry.permission):
            url = next((_reverse(name) for name, perm in entry.fallbacks if user.has_perm(perm)), None)
            if url is None:
                continue
        section = getattr(request, "nav_section", None)
        active = (
            section == entry.key if section else (url is not None and url != "/" and path.startswith(url))
        )
        if url == "/" and path == "/":
            active = True
        items.append(NavItem(entry.key, entry.label, entry.icon, url, active))
    return items
