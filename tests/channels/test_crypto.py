from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import translation

from channels.crypto import (
    CredentialsUnreadable,
    decrypt_credentials,
    encrypt_credentials,
    is_current,
    mask,
    rotate_token,
)
from channels.models import ChannelAccount
from channels.services_accounts import channel_account_create
from oms.models import AuditLog
from tests.channels.fakeshop import SHOP_CODE

SECRET = "sk_live_9f8e7d6c5b4a3210"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Assertions read the English messages; the Korean catalog may translate them."""
    with translation.override("en"):
        yield


def test_credentials_round_trip_and_the_token_hides_every_value(settings) -> None:
    token = encrypt_credentials({"client_id": "shop-client", "client_secret": SECRET, "empty": ""})
    assert SECRET not in token and "shop-client" not in token
    assert decrypt_credentials(token) == {"client_id": "shop-client", "client_secret": SECRET}
    assert encrypt_credentials({}) == "" and decrypt_credentials("") == {}


def test_a_token_from_an_unknown_key_is_refused_with_a_clear_error(settings) -> None:
    token = encrypt_credentials({"client_secret": SECRET})
    settings.OMS_CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CredentialsUnreadable, match="OMS_CREDENTIALS_KEYS"):
        decrypt_credentials(token)


def test_first_key_encrypts_and_every_listed_key_decrypts(settings) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.OMS_CREDENTIALS_KEYS = [old]
    token = encrypt_credentials({"client_secret": SECRET})
    settings.OMS_CREDENTIALS_KEYS = [new, old]
    assert decrypt_credentials(token) == {"client_secret": SECRET}
    assert not is_current(token)
    rotated = rotate_token(token)
    assert is_current(rotated)
    settings.OMS_CREDENTIALS_KEYS = [new]
    assert decrypt_credentials(rotated) == {"client_secret": SECRET}


def test_mask_shows_only_the_last_four_characters_of_a_long_value() -> None:
    assert mask(SECRET) == "····3210"
    assert mask("short-key") == "····"  # four characters of a short secret would give too much away


@pytest.mark.django_db
def test_the_database_row_holds_no_credential_value(settings, fake_adapters) -> None:
    account = channel_account_create(
        actor=None,
        marketplace=SHOP_CODE,
        name="상점",
        credentials={"client_id": "shop-client-id-77", "client_secret": SECRET},
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM channels_channelaccount WHERE id = %s", [account.pk])
        row = " ".join(str(v) for v in cursor.fetchone())
    assert SECRET not in row and "shop-client-id-77" not in row
    audit = " ".join(str(a.changes) for a in AuditLog.objects.all())
    assert SECRET not in audit and "client_secret" in audit


@pytest.mark.django_db
def test_rotate_credentials_key_reencrypts_every_account_and_reports_counts(
    settings, fake_adapters, capsys
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.OMS_CREDENTIALS_KEYS = [old]
    for n in range(2):
        channel_account_create(
            actor=None,
            marketplace=SHOP_CODE,
            name=f"상점 {n}",
            credentials={"client_id": "c", "client_secret": f"{SECRET}{n}"},
        )
    channel_account_create(actor=None, marketplace="other", name="엑셀 채널")
    settings.OMS_CREDENTIALS_KEYS = [new, old]

    call_command("rotate_credentials_key", "--dry-run")
    assert "Would re-encrypt 2 account(s); 0 already" in capsys.readouterr().out
    assert not any(
        is_current(a.credentials_encrypted) for a in ChannelAccount.objects.exclude(credentials_encrypted="")
    )

    call_command("rotate_credentials_key")
    assert "Re-encrypted 2 account(s); 0 already on the current key; 1 without credentials; 0 unreadable" in (
        capsys.readouterr().out
    )
    settings.OMS_CREDENTIALS_KEYS = [new]  # the old key can go now
    secrets = sorted(
        decrypt_credentials(a.credentials_encrypted)["client_secret"]
        for a in ChannelAccount.objects.exclude(credentials_encrypted="")
    )
    assert secrets == [f"{SECRET}0", f"{SECRET}1"]

    call_command("rotate_credentials_key")
    assert "Re-encrypted 0 account(s); 2 already on the current key" in capsys.readouterr().out
    assert AuditLog.objects.filter(action="channel_account.rotate_key").count() == 2


@pytest.mark.django_db
def test_rotation_fails_loudly_for_credentials_no_listed_key_can_read(
    settings, fake_adapters, capsys
) -> None:
    settings.OMS_CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    channel_account_create(
        actor=None,
        marketplace=SHOP_CODE,
        name="잃어버린 키",
        credentials={"client_id": "c", "client_secret": SECRET},
    )
    settings.OMS_CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="잃어버린 키") as exc:
        call_command("rotate_credentials_key")
    assert exc.value.returncode == 1
    assert "1 unreadable" in capsys.readouterr().out
