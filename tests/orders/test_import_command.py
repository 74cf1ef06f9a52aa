"""python manage.py import_orders: exit codes, one-line summaries, and nothing written on refusal."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from channels.models import Marketplace
from orders.management.commands.import_orders import Command
from orders.models import ExcelProfile, ImportBatch, Order
from tests.channels.factories import ChannelAccountFactory
from tests.orders.test_excel import COUPANG_HEADERS, coupang_row, xlsx

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).parents[1] / "samples"
SMARTSTORE = str(SAMPLES / "smartstore_발송처리_sample.xlsx")
COUPANG = str(SAMPLES / "coupang_DeliveryList_sample.xlsx")


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path) -> Iterator[None]:
    settings.MEDIA_ROOT = tmp_path / "media"
    ChannelAccountFactory.create(name="스마트스토어", marketplace=Marketplace.SMARTSTORE)
    ChannelAccountFactory.create(name="쿠팡", marketplace=Marketplace.COUPANG)
    with translation.override("en"):
        yield


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_orders", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args: str) -> CommandError:
    with pytest.raises(CommandError) as exc:
        run(*args)
    return exc.value


def test_a_password_protected_smartstore_sheet_registers_with_a_one_line_summary() -> None:
    out, err = run("--account", "스마트스토어", "--password", "sample1234", SMARTSTORE)
    assert out.count("\n") == 1
    assert "12 new orders (21 lines), 0 updated, 0 unchanged" in out and "0 bad rows" in out
    assert err == ""
    assert Order.objects.count() == 12
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.COMMITTED and batch.stored_path == ""

    out, _err = run("--account", "스마트스토어", "--password", "sample1234", SMARTSTORE)
    assert "0 new orders (0 lines), 0 updated, 12 unchanged" in out
    assert Order.objects.count() == 12


def test_dry_run_says_what_would_happen_and_writes_nothing() -> None:
    out, _err = run("--account", "쿠팡", "--profile", "coupang", "--dry-run", COUPANG)
    assert "6 orders (7 lines) read; 6 new orders (7 lines) would be registered, 0 already present" in out
    assert "nothing was written" in out
    assert not Order.objects.exists() and not ImportBatch.objects.exists()


def test_bad_rows_are_listed_on_stderr_and_held_back(tmp_path: Path) -> None:
    sheet = tmp_path / "d.xlsx"
    rows = [COUPANG_HEADERS, coupang_row(1), coupang_row(2, **{"구매수(수량)": "두개"})]
    sheet.write_bytes(xlsx(rows, "Delivery"))
    out, err = run("--account", "쿠팡", str(sheet))
    assert "Row 3, 구매수(수량):" in err and "(두개)" in err
    assert "1 new orders" in out and "1 bad rows held back" in out
    assert list(Order.objects.values_list("external_order_id", flat=True)) == ["22001"]


def test_strict_writes_nothing_when_any_row_is_bad(tmp_path: Path) -> None:
    sheet = tmp_path / "d.xlsx"
    sheet.write_bytes(xlsx([COUPANG_HEADERS, coupang_row(1), coupang_row(2, 수취인이름="")], "Delivery"))
    error = refused("--account", "쿠팡", "--strict", str(sheet))
    assert error.returncode == 1 and "nothing was written" in str(error)
    assert not Order.objects.exists() and not ImportBatch.objects.exists()
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx([COUPANG_HEADERS, coupang_row(1)], "Delivery"))
    out, _err = run("--account", "쿠팡", "--strict", str(good))
    assert "1 new orders" in out and Order.objects.count() == 1


def test_a_sheet_with_no_valid_order_exits_1(tmp_path: Path) -> None:
    sheet = tmp_path / "d.xlsx"
    sheet.write_bytes(xlsx([COUPANG_HEADERS, coupang_row(1, 수취인이름="")], "Delivery"))
    error = refused("--account", "쿠팡", str(sheet))
    assert error.returncode == 1 and "No valid order" in str(error)
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--account", "스마트스토어", "--password", "wrong", SMARTSTORE), "password is wrong"),
        (("--account", "스마트스토어", SMARTSTORE), "password-protected"),
        (("--account", "쿠팡", str(Path(__file__))), "not a spreadsheet"),
        (("--account", "쿠팡", "--profile", "smartstore", COUPANG), "missing"),
        (("--account", "없는 계정", COUPANG), "No channel account named 없는 계정"),
        (("--account", "쿠팡", "--profile", "gmarket", COUPANG), "Unknown profile gmarket"),
        (("--account", "쿠팡", "/no/such/file.xlsx"), "Cannot open"),
        (("--account", "쿠팡", "--user", "nobody", COUPANG), "No user named nobody"),
    ],
)
def test_refusals_exit_2_with_a_clear_message_and_write_nothing(args: tuple[str, ...], says: str) -> None:
    error = refused(*args)
    assert error.returncode == 2
    assert says in str(error)
    assert not Order.objects.exists() and not ImportBatch.objects.exists()


def test_headers_that_fit_no_profile_are_refused(tmp_path: Path) -> None:
    sheet = tmp_path / "x.xlsx"
    sheet.write_bytes(xlsx([["이름", "전화"], ["홍길동", "010-1234-5678"]]))
    error = refused("--account", "쿠팡", str(sheet))
    assert error.returncode == 2 and "fit no order profile" in str(error)
    assert not ImportBatch.objects.exists()


def test_an_own_profile_is_chosen_by_name(tmp_path: Path) -> None:
    account = ChannelAccountFactory.create(name="지마켓", marketplace=Marketplace.GMARKET)
    ExcelProfile.objects.create(
        account=account,
        name="지마켓 주문",
        mapping={
            "external_order_id": "주문번호",
            "product_name": "상품명",
            "quantity": "수량",
            "recipient_name": "받는분",
            "recipient_phone": "전화",
            "address_full": "주소",
        },
    )
    sheet = tmp_path / "g.xlsx"
    sheet.write_bytes(
        xlsx(
            [
                ["주문번호", "상품명", "수량", "받는분", "전화", "주소"],
                ["G1", "컵", 1, "김", "01011112222", "서울"],
            ]
        )
    )
    out, _err = run("--account", "지마켓", "--profile", "지마켓 주문", str(sheet))
    assert "1 new orders" in out
    assert ImportBatch.objects.get().profile_name == "지마켓 주문"


def test_the_exit_code_reaches_the_shell_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        Command().run_from_argv(["manage.py", "import_orders", "--account", "스마트스토어", SMARTSTORE])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "CommandError:" in err
