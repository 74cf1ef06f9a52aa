"""Shared vocabulary for the permissions matrix. Each app's tests/<app>/access.py defines
RULES: {url name: Rule}; tests/test_permissions_matrix.py gathers them all and walks every
URL for every role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from oms.models import User
from oms.roles import Role

ALL = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})
MANAGER_UP = frozenset({Role.ADMIN, Role.MANAGER})
PUBLIC = "public"  # no login needed
NO_METHOD = "405"  # the view does not take this method: 405 for everyone
READ_ONLY = "read-only"  # POST is accepted like GET and writes nothing: same roles as GET

Access = frozenset[Role] | str

# (requesting user, another user) -> positional URL arguments; runs inside the test's database.
ArgsFactory = Callable[[User, User], list[Any]]


def no_args(user: User, other: User) -> list[Any]:
    return []


@dataclass(frozen=True)
class Rule:
    get: Access
    post: Access = READ_ONLY
    args: ArgsFactory = field(default=no_args)
