from __future__ import annotations

import pytest
from django.http import QueryDict

from oms.listing import keyset_page, selected_queryset
from oms.models import AuditLog
from oms.services import audit_record

pytestmark = pytest.mark.django_db


def _make(n: int) -> None:
    for i in range(n):
        # Ties on action so the pk tie-breaker matters.
        audit_record(actor=None, action=f"a{i // 3:02d}")


def test_keyset_paging_walks_every_row_once_forward_and_back() -> None:
    _make(23)
    qs = AuditLog.objects.all()
    order = ("action", "-pk")
    expected = list(qs.order_by(*order).values_list("pk", flat=True))
    seen, pages, cursor = [], [], None
    while True:
        page = keyset_page(qs, order=order, after=cursor, size=5)
        pages.append(page)
        seen += [row.pk for row in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == expected
    assert pages[0].is_first and not pages[1].is_first
    # Walk back from the last page with `before` cursors.
    back: list[int] = []
    page = pages[-1]
    while page.prev_cursor:
        page = keyset_page(qs, order=order, before=page.prev_cursor, size=5)
        back = [row.pk for row in page.items] + back
    assert back == expected[: len(back)] and page.is_first
    assert len(back) == len(expected) - len(pages[-1].items)


def test_garbage_cursor_gives_the_first_page() -> None:
    _make(4)
    page = keyset_page(AuditLog.objects.all(), after="not-a-cursor!!", size=2)
    assert page.is_first and len(page.items) == 2


def test_selected_queryset_never_reaches_outside_the_filtered_rows() -> None:
    _make(6)
    pks = list(AuditLog.objects.order_by("pk").values_list("pk", flat=True))
    visible = AuditLog.objects.filter(pk__in=pks[:3])
    data = QueryDict(mutable=True)
    data.setlist("ids", [str(pks[0]), str(pks[5]), "x"])
    assert list(selected_queryset(data, visible).values_list("pk", flat=True)) == [pks[0]]
    data["select_all"] = "filtered"
    assert selected_queryset(data, visible).count() == 3
