from __future__ import annotations

from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from oms.models import User
from oms.roles import Role
from oms.services import user_create

TEST_PASSWORD = "test-pass-2026!"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if settings.OMS_DATABASE_IS_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (row locks, real concurrency); run with DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def english(settings) -> Iterator[None]:
    """Run a test in English: for tests that assert the English source messages (the app
    itself is Korean first; the Korean catalog is checked by tests/oms/test_i18n.py)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Tests share one cache (Redis in CI): start each with a clean one (axes, locks)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    counter = {"n": 0}

    def make(role: Role = Role.STAFF, username: str | None = None, **extra: str) -> User:
        counter["n"] += 1
        name = username or f"{role.name.lower()}{counter['n']}"
        return user_create(actor=None, username=name, password=TEST_PASSWORD, role=role, **extra)

    return make


@pytest.fixture
def admin_user(make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMIN, username="boss")


@pytest.fixture
def manager_user(make_user: Callable[..., User]) -> User:
    return make_user(Role.MANAGER, username="mgr")


@pytest.fixture
def staff_user(make_user: Callable[..., User]) -> User:
    return make_user(Role.STAFF, username="worker")


def sheet_of(response: Any) -> Worksheet:
    """The first sheet of an xlsx download."""
    assert response["Content-Type"].startswith("application/vnd.openxmlformats"), response["Content-Type"]
    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    assert isinstance(sheet, Worksheet)
    return sheet


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client_(admin_user: User) -> Client:
    return client_for(admin_user)
