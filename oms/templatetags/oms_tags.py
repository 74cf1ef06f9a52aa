from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template

register = template.Library()


@dataclass(frozen=True)
class ChangeRow:
    key: str
    old: Any
    new: Any
    is_pair: bool

    def __str__(self) -> str:
        if self.is_pair:
            return f"{self.key}: {_show(self.old)} → {_show(self.new)}"
        return f"{self.key}: {_show(self.new)}"


def _show(value: Any) -> str:
    return "∅" if value is None or value == "" else str(value)


@register.filter
def change_rows(changes: dict[str, Any] | None) -> list[ChangeRow]:
    """An audit entry's changes as rows: {"field": [old, new]} pairs, or plain facts."""
    rows = []
    for key, value in (changes or {}).items():
        if isinstance(value, list) and len(value) == 2:
            rows.append(ChangeRow(key, value[0], value[1], True))
        else:
            rows.append(ChangeRow(key, None, value, False))
    return rows
