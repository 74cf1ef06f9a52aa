"""The to-do board on the home page. Each provider (settings.OMS_DASHBOARD_CARDS) returns the
cards for what it owns, only those the user may open: a count and a link to the filtered list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class DashboardCard:
    title: str | Promise
    count: int
    url: str
    tone: str = "normal"  # normal / ok / warn / bad
    hint: str | Promise = ""


CardProvider = Callable[[HttpRequest], list[DashboardCard]]


def dashboard_cards(request: HttpRequest) -> list[DashboardCard]:
    cards: list[DashboardCard] = []
    for path in settings.OMS_DASHBOARD_CARDS:
        provider: CardProvider = import_string(path)
        cards.extend(provider(request))
    return cards
