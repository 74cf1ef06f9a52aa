from __future__ import annotations

import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
KO_PO = ROOT / "locale" / "ko" / "LC_MESSAGES" / "django.po"
SOURCE_DIRS = [
    "oms",
    "catalog",
    "orders",
    "inventory",
    "shipping",
    "cs",
    "analytics",
    "channels",
    "templates",
]


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext (xgettext) is not installed")
def test_korean_catalog_translates_every_string_in_the_code(tmp_path: Path, monkeypatch) -> None:
    # makemessages writes next to the sources it reads, so run it on a copy of them.
    tree = tmp_path / "src"
    for name in [*SOURCE_DIRS, "locale"]:
        shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    target = tree / "locale" / "ko" / "LC_MESSAGES"
    monkeypatch.chdir(tree)
    with override_settings(LOCALE_PATHS=[tree / "locale"]):
        call_command("makemessages", locale=["ko"], no_obsolete=True, verbosity=0)
    catalog = polib.pofile(str(target / "django.po"))
    missing = [e.msgid for e in catalog.untranslated_entries()] + [e.msgid for e in catalog.fuzzy_entries()]
    assert missing == [], f"run makemessages -l ko and translate: {missing}"


def test_korean_catalog_has_no_untranslated_or_fuzzy_entries() -> None:
    catalog = polib.pofile(str(KO_PO))
    assert catalog.untranslated_entries() == []
    assert catalog.fuzzy_entries() == []


@pytest.mark.django_db
def test_pages_are_korean_by_default_and_english_on_request(make_user) -> None:
    from oms.roles import Role
    from tests.conftest import client_for

    client = client_for(make_user(Role.ADMIN))
    korean = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en-US,en").content.decode()
    assert "대시보드" in korean
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    english = client.get(reverse("dashboard")).content.decode()
    assert "Dashboard" in english and "대시보드" not in english
    anonymous = Client().get(reverse("login")).content.decode()
    assert "로그인" in anonymous
