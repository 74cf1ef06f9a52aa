"""manage.py channel_account: create or update from the command line, secrets never printed,
non-zero exit with a clear message on bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from channels.crypto import decrypt_credentials
from channels.management.commands.channel_account import Command
from channels.models import ChannelAccount
from oms.models import AuditLog
from tests.channels.fakeshop import SHOP_CODE

pytestmark = pytest.mark.django_db

SECRET = "sk_live_0123456789abcdef"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("channel_account", *args, stdout=out)
    return out.getvalue()


def test_creates_an_account_with_encrypted_credentials_and_prints_no_secret(fake_adapters) -> None:
    out = _run(
        "--marketplace", SHOP_CODE, "--name", "쇼피파이", "--base-url", "http://127.0.0.1:8108/fake",
        "--set", "client_id=shop-client", "--set", f"client_secret={SECRET}",
    )  # fmt: skip
    account = ChannelAccount.objects.get(name="쇼피파이")
    assert out.startswith(f"Created account #{account.pk} 쇼피파이 ({SHOP_CODE}): status active")
    assert (
        "credentials set: client_id, client_secret" in out and SECRET not in out and "shop-client" not in out
    )
    assert account.base_url == "http://127.0.0.1:8108/fake"
    assert decrypt_credentials(account.credentials_encrypted) == {
        "client_id": "shop-client",
        "client_secret": SECRET,
    }
    assert SECRET not in str(AuditLog.objects.get().changes)


def test_updates_by_name_keeping_what_is_not_given(fake_adapters) -> None:
    _run(
        "--marketplace", SHOP_CODE, "--name", "A", "--set", "client_id=c", "--set", f"client_secret={SECRET}"
    )
    out = _run("--marketplace", SHOP_CODE, "--name", "A", "--base-url", "https://shop.example.com", "--pause")
    assert out.startswith("Updated account") and "status paused" in out
    account = ChannelAccount.objects.get()
    assert account.base_url == "https://shop.example.com" and account.status == "paused"
    assert decrypt_credentials(account.credentials_encrypted)["client_secret"] == SECRET
    _run("--marketplace", SHOP_CODE, "--name", "A", "--set", "webhook_secret=whsec_12345678", "--resume")
    account.refresh_from_db()
    assert account.status == "active"
    assert decrypt_credentials(account.credentials_encrypted)["webhook_secret"] == "whsec_12345678"


def test_excel_only_account_without_credentials(fake_adapters) -> None:
    out = _run("--marketplace", "11st", "--name", "11번가")
    assert "Created account" in out and "credentials set: -" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--marketplace", "amazon", "--name", "A"], "Unknown marketplace amazon"),
        (["--marketplace", SHOP_CODE, "--name", "A", "--set", "client_id=c"], "Client secret is required"),
        (["--marketplace", SHOP_CODE, "--name", "A", "--set", "pin=1"], "Unknown credential pin"),
        (["--marketplace", SHOP_CODE, "--name", "A", "--set", SECRET], "KEY=VALUE"),
        (["--marketplace", SHOP_CODE, "--name", "A", "--set", "client_id=a", "--set", "client_id=b"],
         "twice"),
        (["--marketplace", "11st", "--name", "A", "--set", "api_key=x"], "no API connection"),
        (["--marketplace", SHOP_CODE, "--name", "  "], "--name must not be empty"),
        (
            ["--marketplace", SHOP_CODE, "--name", "A", "--base-url", "ftp://x", "--set", "client_id=c",
             "--set", "client_secret=s"],
            "https://",
        ),
    ],
)  # fmt: skip
def test_bad_input_exits_non_zero_with_a_clear_message_and_writes_nothing(
    fake_adapters, args, message
) -> None:
    with pytest.raises(CommandError, match=message) as exc:
        _run(*args)
    assert exc.value.returncode == 1
    assert SECRET not in str(exc.value)
    assert not ChannelAccount.objects.exists()


def test_the_marketplace_of_an_existing_account_cannot_change(fake_adapters) -> None:
    _run("--marketplace", "11st", "--name", "A")
    with pytest.raises(CommandError, match="marketplace cannot change"):
        _run("--marketplace", SHOP_CODE, "--name", "A", "--set", "client_id=c", "--set", "client_secret=s")
    assert ChannelAccount.objects.get().marketplace == "11st"


def test_real_exit_status_and_stderr(fake_adapters, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        Command().run_from_argv(["manage.py", "channel_account", "--marketplace", "nope", "--name", "A"])
    assert exc.value.code == 1
    assert "Unknown marketplace nope" in capsys.readouterr().err
    with pytest.raises(SystemExit) as both:
        Command().run_from_argv(
            ["manage.py", "channel_account", "--marketplace", "11st", "--name", "A", "--pause", "--resume"]
        )
    assert both.value.code == 2  # argparse: not allowed together
