from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from oms.models import AuditLog, Company, User
from oms.roles import Role
from oms.services import audit_record, company_update
from tests.conftest import client_for, sheet_of

pytestmark = pytest.mark.django_db


def test_audit_record_keeps_who_what_which_and_changes(admin_user: User) -> None:
    company = company_update(actor=admin_user, values={"name": "데모상회", "phone": "02-1234-5678"})
    entry = audit_record(
        actor=admin_user,
        action="company.note",
        obj=company,
        changes={"price": [9900, 10900]},
        ip_address="127.0.0.1",
    )
    assert entry.actor == admin_user
    assert entry.content_type is not None and entry.content_type.model == "company"
    assert entry.object_id == "1"
    assert entry.object_repr == "데모상회"
    assert entry.changes == {"price": [9900, 10900]}


def test_company_update_records_only_what_changed(admin_user: User) -> None:
    company_update(actor=admin_user, values={"name": "A상회", "phone": "010"})
    company_update(actor=admin_user, values={"name": "B상회", "phone": "010"})
    company_update(actor=admin_user, values={"name": "B상회", "phone": "010"})
    entries = list(AuditLog.objects.filter(action="company.update").order_by("pk"))
    assert len(entries) == 2
    assert entries[1].changes == {"name": ["A상회", "B상회"]}
    assert Company.objects.get().name == "B상회"


def test_audit_list_filters_by_user_object_type_and_date(admin_user: User, make_user) -> None:
    other = make_user(Role.ADMIN, username="other-admin")
    company = company_update(actor=admin_user, values={"name": "데모상회"})
    audit_record(actor=other, action="company.note", obj=company)
    old = audit_record(actor=admin_user, action="old.thing")
    AuditLog.objects.filter(pk=old.pk).update(at=timezone.now() - dt.timedelta(days=40))
    client = client_for(admin_user)

    by_user = client.get(reverse("audit_list"), {"actor": other.pk})
    assert [e.action for e in by_user.context["page"].items] == ["company.note"]

    company_type = AuditLog.objects.get(action="company.note").content_type
    assert company_type is not None
    by_type = client.get(reverse("audit_list"), {"content_type": company_type.pk})
    assert {e.action for e in by_type.context["page"].items} == {"company.update", "company.note"}

    today = timezone.localdate()
    recent = client.get(reverse("audit_list"), {"date_from": (today - dt.timedelta(days=1)).isoformat()})
    assert "old.thing" not in {e.action for e in recent.context["page"].items}
    older = client.get(reverse("audit_list"), {"date_to": (today - dt.timedelta(days=30)).isoformat()})
    assert [e.action for e in older.context["page"].items] == ["old.thing"]


def test_audit_list_pages_and_downloads(admin_user: User) -> None:
    for i in range(120):
        audit_record(actor=admin_user, action=f"bulk.{i:03d}")
    client = client_for(admin_user)
    first = client.get(reverse("audit_list"), {"action": "bulk."})
    page = first.context["page"]
    assert len(page.items) == 50
    assert page.items[0].action == "bulk.119"
    second = client.get(reverse("audit_list"), {"action": "bulk.", "after": page.next_cursor})
    assert second.context["page"].items[0].action == "bulk.069"
    download = client.get(reverse("audit_list"), {"action": "bulk.", "format": "xlsx"})
    sheet = sheet_of(download)
    assert sheet.max_row == 121


def test_htmx_filter_returns_only_the_results_fragment(admin_user: User) -> None:
    audit_record(actor=admin_user, action="x.y")
    response = client_for(admin_user).get(reverse("audit_list"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="results"' in html
    assert "<html" not in html
