import os
from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def secrets_from_environment(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """In production the secrets must come from the environment: a key generated under var/
    is lost with the container, and with it every stored channel credential."""
    messages: list[CheckMessage] = []
    if not os.environ.get("OMS_CREDENTIALS_KEYS"):
        messages.append(
            Warning(
                "OMS_CREDENTIALS_KEYS is not set: channel credentials are encrypted with a key "
                "generated under var/.",
                hint="Set OMS_CREDENTIALS_KEYS to one or more Fernet keys (comma separated, newest first).",
                id="oms.W001",
            )
        )
    if not os.environ.get("SECRET_KEY"):
        messages.append(
            Warning(
                "SECRET_KEY is not set: a key generated under var/ is used.",
                hint="Set SECRET_KEY.",
                id="oms.W002",
            )
        )
    return messages
