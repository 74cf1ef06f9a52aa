"""The adapter registry: settings.OMS_CHANNEL_ADAPTERS, a list of dotted paths, checked with
issubclass. No import-time self-registration.

A demo-only adapter (the sandbox marketplace) is registered only while
settings.OMS_SANDBOX_ENABLED is on: in production its marketplace has no API and is not offered
when an account is made (marketplace_offered)."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from channels.adapters.base import ChannelAdapter


@cache
def _configured() -> dict[str, type[ChannelAdapter]]:
    found: dict[str, type[ChannelAdapter]] = {}
    for path in settings.OMS_CHANNEL_ADAPTERS:
        cls = import_string(path)
        if not (isinstance(cls, type) and issubclass(cls, ChannelAdapter)):
            raise ImproperlyConfigured(f"{path} is not a ChannelAdapter subclass")
        if cls.code in found:
            raise ImproperlyConfigured(f"two adapters for marketplace {cls.code!r}")
        found[cls.code] = cls
    return found


@cache
def adapters() -> dict[str, type[ChannelAdapter]]:
    """The adapters in use on this server, by marketplace code."""
    return {
        code: cls for code, cls in _configured().items() if not cls.demo_only or settings.OMS_SANDBOX_ENABLED
    }


def adapter_class(marketplace: str) -> type[ChannelAdapter] | None:
    """The adapter for a marketplace code, or None for Excel-only marketplaces."""
    return adapters().get(marketplace)


def marketplace_offered(marketplace: str) -> bool:
    """Whether a new account may be made for this marketplace: every marketplace but a
    demo-only one while the sandbox is off."""
    cls = _configured().get(marketplace)
    return cls is None or not cls.demo_only or bool(settings.OMS_SANDBOX_ENABLED)


def _reset_on_setting_change(*, setting: str, **kwargs: object) -> None:
    if setting in ("OMS_CHANNEL_ADAPTERS", "OMS_SANDBOX_ENABLED"):
        _configured.cache_clear()
        adapters.cache_clear()


setting_changed.connect(_reset_on_setting_change, dispatch_uid="channels.registry.reset")
