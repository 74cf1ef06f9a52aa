"""The permissions matrix: every URL the project serves, every role, every method it accepts.

A new URL without a row here fails `test_matrix_covers_every_url`, so nobody can add a page
without saying who may use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from oms.models import Job, User
from oms.roles import Role
from oms.services import job_create
from tests.access import NO_METHOD, PUBLIC, READ_ONLY, Rule
from tests.conftest import client_for


def _gather() -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for path in sorted(Path(__file__).resolve().parent.glob("*/access*.py")):
        module = import_module(f"tests.{path.parent.name}.{path.stem}")
        overlap = rules.keys() & module.RULES.keys()
        assert not overlap, f"URL names ruled twice: {overlap}"
        rules.update(module.RULES)
    return rules


# url name -> who may GET and who may POST, gathered from tests/<app>/access.py.
MATRIX: dict[str, Rule] = _gather()


def _walk(patterns: list[URLPattern | URLResolver], namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, ns)
        else:
            yield f"{namespace}{p.name}" if p.name else "", p


def served_url_names() -> set[str]:
    names = set()
    for name, pattern in _walk(get_resolver().url_patterns):
        assert name, f"every URL needs a name for the permissions matrix: {pattern.pattern}"
        names.add(name)
    return names


def test_matrix_covers_every_url() -> None:
    served = served_url_names()
    assert served - MATRIX.keys() == set(), "URLs missing from the permissions matrix"
    assert MATRIX.keys() - served == set(), "matrix rows for URLs that no longer exist"


@pytest.fixture
def role_clients(make_user) -> dict[Role, tuple[User, Client]]:
    out = {}
    for role in Role:
        user = make_user(role)
        out[role] = (user, client_for(user))
    return out


def _url(name: str, user: User, other: User) -> str:
    return reverse(name, args=MATRIX[name].args(user, other))


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_is_refused_where_it_must_be(name: str, role_clients, make_user) -> None:
    rule = MATRIX[name]
    target = make_user(Role.STAFF, username=f"target-{name.replace(':', '-')}")
    for role, (user, client) in role_clients.items():
        url = _url(name, user, target)
        for method, access in (("get", rule.get), ("post", rule.post)):
            if access == READ_ONLY:
                access = rule.get
            if access == PUBLIC:
                continue
            status = getattr(client, method)(url).status_code
            where = f"{role.name} {method.upper()} {url}"
            if access == NO_METHOD:
                assert status == 405, f"{where} gave {status}, expected 405"
            elif role in access:
                assert status != 403, f"{where} refused"
            else:
                assert status == 403, f"{where} gave {status}, expected 403"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", sorted(n for n, r in MATRIX.items() if PUBLIC not in (r.get, r.post) and n != "logout")
)
def test_anonymous_users_are_sent_to_login(name: str, make_user) -> None:
    owner = make_user(Role.STAFF)
    url = _url(name, owner, owner)
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_manager_is_never_granted_user_or_audit_permissions(manager_user: User) -> None:
    forbidden = {
        "oms.view_user",
        "oms.add_user",
        "oms.change_user",
        "oms.view_auditlog",
        "oms.change_company",
    }
    assert not {p for p in forbidden if manager_user.has_perm(p)}


@pytest.mark.django_db
def test_staff_reads_products_and_stock_but_never_writes_them() -> None:
    from oms.roles import role_grants

    assert role_grants(Role.STAFF, "catalog", "view_product")
    assert not role_grants(Role.STAFF, "catalog", "change_product")
    assert not role_grants(Role.STAFF, "inventory", "change_stocklevel")
    assert role_grants(Role.STAFF, "orders", "add_importbatch")
    assert role_grants(Role.STAFF, "shipping", "change_shipment")
    assert not role_grants(Role.MANAGER, "channels", "view_channelaccount")
    assert not role_grants(Role.MANAGER, "channels", "change_channelaccount")


@pytest.mark.django_db
def test_jobs_of_other_users_are_hidden_from_non_admins(make_user) -> None:
    owner, other, admin = make_user(Role.STAFF), make_user(Role.MANAGER), make_user(Role.ADMIN)
    job = job_create(kind="import", title="주문 업로드", actor=owner)
    url = reverse("job_detail", args=[job.pk])
    assert client_for(owner).get(url).status_code == 200
    assert client_for(other).get(url).status_code == 404
    assert client_for(admin).get(url).status_code == 200
    assert Job.objects.count() == 1
