"""The three roles, as auth groups whose permissions are derived from rules.

The rules are written against app labels and permission codenames, so models that later
issues add get the right permissions on the next migrate (a post_migrate hook re-syncs).
"""

from __future__ import annotations

import enum
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Business apps the manager runs in full.
OPERATIONS_APPS = ("catalog", "orders", "inventory", "shipping", "cs", "analytics")

# Channel permissions that expose or change credentials, accounts and schedules: admins only.
CHANNEL_ADMIN_ONLY_MODELS = ("channelaccount", "channelcredential")

# Models everyone may read but only admins change (the courier table every sheet relies on).
ADMIN_EDITED_MODELS = {("shipping", "courier")}


class Role(enum.Enum):
    ADMIN = "관리자"
    MANAGER = "운영자"
    STAFF = "작업자"

    @property
    def group_name(self) -> str:
        return self.value

    @property
    def label(self) -> Promise:
        return ROLE_LABELS[self]

    @classmethod
    def for_user(cls, user: Any) -> Role | None:
        names = {g.name for g in user.groups.all()}
        for role in cls:
            if role.group_name in names:
                return role
        return None


ROLE_LABELS = {
    Role.ADMIN: _("Administrator"),
    Role.MANAGER: _("Manager"),
    Role.STAFF: _("Staff"),
}


def role_grants(role: Role, app_label: str, codename: str) -> bool:
    """Whether a role holds one permission. The single source of truth for the roles."""
    action, _sep, model = codename.partition("_")
    if role is Role.ADMIN:
        return True
    if (app_label, model) in ADMIN_EDITED_MODELS:
        return action == "view"
    if role is Role.MANAGER:
        if app_label in OPERATIONS_APPS:
            return True
        if app_label == "channels":
            return model not in CHANNEL_ADMIN_ONLY_MODELS and action == "view"
        if app_label == "oms":
            return codename in {"view_job", "view_company"}
        return False
    # Staff: upload order sheets, run shipping and packing, read products and stock.
    if app_label == "shipping":
        return True
    if app_label in {"catalog", "inventory"}:
        return action == "view"
    if app_label == "orders":
        return action == "view" or model in {"importbatch"}
    if app_label == "oms":
        return codename in {"view_job", "view_company"}
    return False


def role_permissions(role: Role) -> QuerySet[Permission]:
    perms = Permission.objects.select_related("content_type")
    ids = [p.pk for p in perms if role_grants(role, p.content_type.app_label, p.codename)]
    return Permission.objects.filter(pk__in=ids)


def sync_roles() -> None:
    """Create the three groups if missing and set each one's permissions from the rules."""
    for role in Role:
        group, _created = Group.objects.get_or_create(name=role.group_name)
        group.permissions.set(role_permissions(role))
