from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from oms.models import AuditLog, User
from oms.roles import Role
from tests.conftest import TEST_PASSWORD, client_for, sheet_of

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Sweater-Stock-7788"


def test_admin_creates_a_user_with_a_role_and_it_is_audited(admin_user: User) -> None:
    client = client_for(admin_user)
    response = client.post(
        reverse("user_create"),
        {
            "username": "packer1",
            "last_name": "최",
            "first_name": "포장",
            "email": "packer1@example.com",
            "role": "STAFF",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="packer1")
    assert Role.for_user(user) is Role.STAFF
    assert user.check_password(NEW_PASSWORD)
    entry = AuditLog.objects.get(action="user.create", object_id=str(user.pk))
    assert entry.actor == admin_user
    assert entry.changes["role"] == "작업자"
    assert NEW_PASSWORD not in str(entry.changes)


def test_create_user_rejects_a_taken_name_and_weak_password_and_writes_nothing(admin_user: User) -> None:
    client = client_for(admin_user)
    before = User.objects.count()
    response = client.post(
        reverse("user_create"),
        {"username": "BOSS", "role": "STAFF", "password1": "1234", "password2": "1234"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "username" in form.errors
    assert "password1" in form.errors
    assert User.objects.count() == before
    assert not AuditLog.objects.filter(action="user.create", actor=admin_user).exists()


def test_changing_a_role_changes_what_the_user_may_open(admin_user: User, make_user) -> None:
    staff = make_user(Role.STAFF, username="kim")
    staff_client = client_for(staff)
    assert staff_client.get(reverse("user_list")).status_code == 403
    response = client_for(admin_user).post(
        reverse("user_edit", args=[staff.pk]),
        {"last_name": "김", "first_name": "민수", "email": "", "role": "ADMIN"},
    )
    assert response.status_code == 302
    assert staff_client.get(reverse("user_list")).status_code == 200
    entry = AuditLog.objects.get(action="user.update")
    assert entry.changes["role"] == ["작업자", "관리자"]
    assert entry.changes["first_name"] == ["", "민수"]


def test_deactivated_user_cannot_log_in(admin_user: User, make_user) -> None:
    staff = make_user(Role.STAFF, username="leaver")
    client_for(admin_user).post(reverse("user_set_active", args=[staff.pk]), {"active": "0"})
    staff.refresh_from_db()
    assert not staff.is_active
    response = Client().post(reverse("login"), {"username": "leaver", "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated
    assert AuditLog.objects.filter(action="user.deactivate", object_id=str(staff.pk)).exists()


def test_admin_cannot_deactivate_or_demote_themselves(admin_user: User) -> None:
    client = client_for(admin_user)
    client.post(reverse("user_set_active", args=[admin_user.pk]), {"active": "0"})
    admin_user.refresh_from_db()
    assert admin_user.is_active
    response = client.post(
        reverse("user_edit", args=[admin_user.pk]),
        {"last_name": "", "first_name": "", "email": "", "role": "STAFF"},
    )
    assert response.status_code == 200
    assert Role.for_user(admin_user) is Role.ADMIN


def test_reset_password_lets_the_user_log_in_with_the_new_one(admin_user: User, make_user) -> None:
    staff = make_user(Role.STAFF, username="forgetful")
    response = client_for(admin_user).post(
        reverse("user_reset_password", args=[staff.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    login = Client().post(reverse("login"), {"username": "forgetful", "password": NEW_PASSWORD})
    assert login.status_code == 302
    entry = AuditLog.objects.get(action="user.reset_password")
    assert entry.changes == {}


def test_reset_password_mismatch_is_refused(admin_user: User, make_user) -> None:
    staff = make_user(Role.STAFF, username="typo")
    response = client_for(admin_user).post(
        reverse("user_reset_password", args=[staff.pk]),
        {"password1": NEW_PASSWORD, "password2": "other-pass-99"},
    )
    assert response.status_code == 400
    staff.refresh_from_db()
    assert staff.check_password(TEST_PASSWORD)


def test_bulk_deactivate_all_matching_the_filter_skips_the_acting_admin(admin_user: User, make_user) -> None:
    for _ in range(3):
        make_user(Role.STAFF)
    manager = make_user(Role.MANAGER)
    response = client_for(admin_user).post(
        reverse("user_bulk"), {"action": "deactivate", "select_all": "filtered", "role": "STAFF"}
    )
    assert response.status_code == 302
    assert User.objects.filter(groups__name="작업자", is_active=True).count() == 0
    manager.refresh_from_db()
    admin_user.refresh_from_db()
    assert manager.is_active and admin_user.is_active


def test_bulk_action_on_checked_ids_only(admin_user: User, make_user) -> None:
    a, b = make_user(Role.STAFF), make_user(Role.STAFF)
    client_for(admin_user).post(reverse("user_bulk"), {"action": "deactivate", "ids": [str(a.pk)]})
    a.refresh_from_db()
    b.refresh_from_db()
    assert not a.is_active and b.is_active


def test_login_is_throttled_after_five_failures(make_user) -> None:
    make_user(Role.STAFF, username="target")
    client = Client()
    for _ in range(5):
        client.post(reverse("login"), {"username": "target", "password": "wrong-password"})
    response = client.post(reverse("login"), {"username": "target", "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert not response.wsgi_request.user.is_authenticated
    assert "잠" in response.content.decode()  # the Korean lock-out page


def test_login_page_is_korean_and_logs_in(make_user) -> None:
    make_user(Role.MANAGER, username="seller")
    client = Client()
    page = client.get(reverse("login")).content.decode()
    assert "로그인" in page
    response = client.post(reverse("login"), {"username": "seller", "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_user_list_filters_and_excel_download(admin_user: User, make_user) -> None:
    make_user(Role.STAFF, username="evil", last_name='=HYPERLINK("http://x")')
    client = client_for(admin_user)
    page = client.get(reverse("user_list"), {"role": "STAFF"})
    assert page.status_code == 200
    names = [u.username for u, _role in page.context["users"]]
    assert names == ["evil"]
    download = client.get(reverse("user_list"), {"role": "STAFF", "format": "xlsx"})
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = sheet_of(download)
    cell = sheet.cell(row=2, column=3)
    assert cell.data_type == "s"
    assert cell.value == '\'=HYPERLINK("http://x")'
