"""python manage.py import_tracking: the same service as the upload page; one summary line and
exit 0, or a clear message (no traceback), a non-zero exit and nothing written."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from channels.models import ChannelAccount, Marketplace
from oms.models import AuditLog, ImportSession, User
from shipping.models import Shipment
from tests.channels.factories import ChannelAccountFactory
from tests.shipping.factories import ready_shipment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def write(path: Path, headers: list[str], rows: list[list[Any]], sheet: str = "Sheet1") -> str:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    ws.append(headers)
    for row in rows:
        ws.append(row)
    book.save(path)
    return str(path)


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_tracking", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def account() -> ChannelAccount:
    return ChannelAccountFactory.create(marketplace=Marketplace.SMARTSTORE)


def test_a_good_sheet_is_applied_with_a_one_line_summary(
    tmp_path: Path, account: ChannelAccount, staff_user: User
) -> None:
    a, b = ready_shipment(account), ready_shipment(account)
    path = write(
        tmp_path / "t.xlsx",
        ["출고번호", "택배사", "송장번호"],
        [[a.number, "롯데", "123456789012"], [b.number, "", "601234567890"]],
    )
    out, err = run(path, "--user", staff_user.username)
    assert err == ""
    assert out.strip().count("\n") == 0
    assert "2 rows" in out and "2 new" in out and "dry run" not in out
    a.refresh_from_db()
    assert a.courier is not None and (a.courier.code, a.tracking_number) == ("HYUNDAI", "123456789012")
    assert AuditLog.objects.filter(action="shipping.tracking_import", actor=staff_user).count() == 1
    assert ImportSession.objects.get().kind == ImportSession.Kind.TRACKING


def test_dry_run_writes_nothing(tmp_path: Path, account: ChannelAccount) -> None:
    box = ready_shipment(account)
    path = write(tmp_path / "t.xlsx", ["출고번호", "송장번호"], [[box.number, "601234567890"]])
    out, _err = run("--dry-run", path)
    assert "1 new" in out and "dry run" in out
    box.refresh_from_db()
    assert box.tracking_number == ""


def test_bad_rows_are_named_exit_1_and_nothing_is_written(tmp_path: Path, account: ChannelAccount) -> None:
    box = ready_shipment(account)
    path = write(
        tmp_path / "t.xlsx",
        ["출고번호", "송장번호"],
        [[box.number, "601234567890"], ["S77777777", "601234567891"]],
    )
    err = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("import_tracking", path, stdout=io.StringIO(), stderr=err)
    assert failed.value.returncode == 1
    assert "1 bad rows" in str(failed.value) and "nothing was written" in str(failed.value)
    assert "Row 3, 출고번호: There is no shipment S77777777." in err.getvalue()
    assert not Shipment.objects.exclude(tracking_number="").exists()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["수취인", "송장번호"], "출고번호"),  # no column says which box
        (["출고번호", "택배사"], "송장번호"),  # no tracking numbers
    ],
)
def test_a_sheet_of_the_wrong_kind_exits_2_with_the_reason(
    tmp_path: Path, headers: list[str], expected: str
) -> None:
    path = write(tmp_path / "t.xlsx", headers, [["x", "y"]])
    with pytest.raises(CommandError) as failed:
        run(path)
    assert failed.value.returncode == 2 and expected in str(failed.value)


def test_a_missing_file_and_a_non_spreadsheet_exit_2(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as missing:
        run(str(tmp_path / "nope.xlsx"))
    assert missing.value.returncode == 2 and "Cannot open" in str(missing.value)
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"\x00\x01 not a spreadsheet")
    with pytest.raises(CommandError) as bad:
        run(str(junk))
    assert bad.value.returncode == 2


def test_the_command_line_exits_non_zero_without_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    from django.conf import settings

    path = write(tmp_path / "t.xlsx", ["수취인", "송장번호"], [["x", "601234567890"]])
    result = subprocess.run(
        [sys.executable, "manage.py", "import_tracking", path],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "출고번호" in result.stderr
