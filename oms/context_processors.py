from typing import Any

from django.http import HttpRequest

from oms.navigation import navigation_for
from oms.roles import Role


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    role = Role.for_user(user)
    return {"nav_items": navigation_for(request), "user_role": role.label if role else ""}
