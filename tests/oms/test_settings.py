"""Settings come from the environment only: checked in fresh interpreters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-1234567890",
    "ALLOWED_HOSTS": "oms.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://oms.example.com",
    "DATABASE_URL": "postgres://oms:secret@127.0.0.1:5432/oms",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "OMS_CREDENTIALS_KEYS": Fernet.generate_key().decode(),
    "EMAIL_HOST": "smtp.example.com",
}

PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "engine": s.DATABASES["default"]["ENGINE"],
    "db_name": str(s.DATABASES["default"]["NAME"]),
    "options": {k: str(v) for k, v in s.DATABASES["default"].get("OPTIONS", {}).items()},
    "broker": s.CELERY_BROKER_URL,
    "cache": s.CACHES["default"]["BACKEND"],
    "debug": s.DEBUG,
    "secret": s.SECRET_KEY,
    "email": s.EMAIL_BACKEND,
    "keys": s.OMS_CREDENTIALS_KEYS,
}))
"""


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "PYTHONPATH"}}
    return {**keep, "DJANGO_SETTINGS_MODULE": "oms.settings", "OMS_VAR_DIR": str(tmp_path / "var"), **extra}


def _probe(env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_embedded_default_needs_no_server(tmp_path: Path) -> None:
    first = _probe(_clean_env(tmp_path))
    assert first["engine"] == "django.db.backends.sqlite3"
    assert first["db_name"] == str(tmp_path / "var" / "oms.sqlite3")
    assert first["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in first["options"]["init_command"]
    assert str(first["broker"]).startswith("filesystem://")
    assert first["cache"].endswith("FileBasedCache")
    assert first["debug"] is True
    assert (tmp_path / "var" / "secret_key").exists()
    # The generated secrets are kept: a second start uses the same ones.
    second = _probe(_clean_env(tmp_path))
    assert second["secret"] == first["secret"] and second["keys"] == first["keys"]


def test_production_variables_select_postgres_and_redis(tmp_path: Path) -> None:
    probe = _probe(_clean_env(tmp_path, **PRODUCTION_ENV))
    assert probe["engine"] == "django.db.backends.postgresql"
    assert probe["broker"] == PRODUCTION_ENV["REDIS_URL"]
    assert probe["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert probe["debug"] is False
    assert probe["secret"] == PRODUCTION_ENV["SECRET_KEY"]
    assert probe["keys"] == [PRODUCTION_ENV["OMS_CREDENTIALS_KEYS"]]
    assert probe["email"].endswith("smtp.EmailBackend")
    assert not (tmp_path / "var" / "secret_key").exists()


def test_check_deploy_is_clean_with_production_variables(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_clean_env(tmp_path, **PRODUCTION_ENV),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_bad_boolean_is_refused_clearly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=_clean_env(tmp_path, DEBUG="maybe"),
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_check_deploy_warns_when_the_credentials_key_is_not_set(tmp_path: Path) -> None:
    env = _clean_env(tmp_path, **PRODUCTION_ENV)
    del env["OMS_CREDENTIALS_KEYS"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "oms.W001" in result.stdout + result.stderr
