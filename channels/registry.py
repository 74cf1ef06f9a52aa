"""The adapter registry: settings.OMS_CHANNEL_ADAPTERS, a list of dotted paths, checked with
issubclass. No import-time self-registration."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from channels.adapters.base import ChannelAdapter


@cache
def adapters() -> dict[str, type[ChannelAdapter]]:
    found: dict[str, type[ChannelAdapter]] = {}
    for path in settings.OMS_CHANNEL_ADAPTERS:
        cls = import_string(path)
        if not (isinstance(cls, type) and issubclass(cls, ChannelAdapter)):
            raise ImproperlyConfigured(f"{path} is not a ChannelAdapter subclass")
        if cls.code in found:
            raise ImproperlyConfigured(f"two adapters for marketplace {cls.code!r}")
        found[cls.code] = cls
    return found


def adapter_class(marketplace: str) -> type[ChannelAdapter] | None:
    """The adapter for a marketplace code, or None for Excel-only marketplaces."""
    return adapters().get(marketplace)


def _reset_on_setting_change(*, setting: str, **kwargs: object) -> None:
    if setting == "OMS_CHANNEL_ADAPTERS":
        adapters.cache_clear()


setting_changed.connect(_reset_on_setting_change, dispatch_uid="channels.registry.reset")
