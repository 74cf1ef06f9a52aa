"""Global search. Each provider (listed in settings.OMS_SEARCH_PROVIDERS) answers for the
things it owns and only what the user may see; later apps add orders, phones and SKUs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from oms.models import User
from oms.roles import Role

SEARCH_LIMIT = 20


@dataclass(frozen=True)
class SearchHit:
    label: str
    url: str
    detail: str = ""


@dataclass(frozen=True)
class SearchSection:
    title: str | Promise
    hits: list[SearchHit] = field(default_factory=list)


SearchProvider = Callable[[HttpRequest, str], SearchSection | None]


def search_providers() -> list[SearchProvider]:
    return [import_string(path) for path in settings.OMS_SEARCH_PROVIDERS]


def search_all(request: HttpRequest, query: str) -> list[SearchSection]:
    query = query.strip()
    if len(query) < 2:
        return []
    sections = []
    for provider in search_providers():
        section = provider(request, query)
        if section is not None and section.hits:
            sections.append(section)
    return sections


def search_users(request: HttpRequest, query: str) -> SearchSection | None:
    if not request.user.has_perm("oms.view_user"):
        return None
    users = User.objects.filter(
        Q(username__icontains=query)
        | Q(first_name__icontains=query)
        | Q(last_name__icontains=query)
        | Q(email__icontains=query)
    ).prefetch_related("groups")[:SEARCH_LIMIT]
    hits = []
    for user in users:
        role = Role.for_user(user)
        hits.append(
            SearchHit(
                label=f"{user.display_name} ({user.username})",
                url=reverse("user_edit", args=[user.pk]),
                detail=str(role.label) if role else "",
            )
        )
    return SearchSection(title=_("Users"), hits=hits)
