"""collect_orders, push_stock and confirm_orders: the same services, run from the command line,
one summary line, a non-zero exit with the marketplace's reason on failure."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from channels.models import ChannelAccount, SyncJob
from orders.models import LineStatus, Order, OrderLine
from orders.services import lines_transition
from tests.channels.sync_support import (
    coupang,
    coupang_account,
    listing,
    naver,
    naver_account,
    quick_http,
    real_adapters,
    stocked,
    warehouse,
)
from tests.fakes.coupang import FakeCoupang
from tests.fakes.naver import FakeNaver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

__all__ = ["coupang", "coupang_account", "naver", "naver_account", "quick_http", "real_adapters", "warehouse"]

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_collect_orders_prints_one_summary_line(
    naver: FakeNaver, naver_account: ChannelAccount, warehouse
) -> None:
    stocked("TEE-BK-M", 1, location=warehouse)
    naver.add_orders(2, seller_product_code="TEE-BK-M", quantity=1)

    output = run("collect_orders", "--account", naver_account.name)

    job = SyncJob.objects.get()
    assert output.count("\n") == 1
    assert f"#{job.pk}" in output and naver_account.name in output
    assert "2 orders fetched, 2 new" in output and "1 reserved, 1 short of stock" in output
    assert Order.objects.count() == 2
    # again: nothing new
    yesterday = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert "2 orders fetched, 0 new, 0 updated, 2 unchanged" in run(
        "collect_orders", "--account", naver_account.name, "--since", yesterday
    )


def test_collect_orders_fails_with_the_marketplaces_reason(
    naver: FakeNaver, naver_account: ChannelAccount
) -> None:
    naver.client_secret = "$2a$04$abcdefghijklmnopqrstuu"
    with pytest.raises(CommandError, match="client_secret_sign"):
        run("collect_orders", "--account", naver_account.name)
    assert ChannelAccount.objects.get(pk=naver_account.pk).status == ChannelAccount.Status.ERROR


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--account", "없는 계정"], "No channel account is named 없는 계정"),
        (["--account", "스마트스토어 본점", "--since", "어제"], "--since must be an ISO time"),
        (["--account", "스마트스토어 본점", "--since", "2999-01-01"], "--since must be in the past"),
    ],
)
def test_collect_orders_refuses_bad_arguments(
    naver_account: ChannelAccount, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        run("collect_orders", *args)
    assert not SyncJob.objects.exists()


def test_push_stock_pushes_the_account_and_all_reconciles(
    coupang: FakeCoupang, coupang_account: ChannelAccount, warehouse
) -> None:
    tee = stocked("TEE-BK-M", 4, location=warehouse)
    listing(coupang_account, "13000000001", "70000000001", tee)

    output = run("push_stock", "--account", coupang_account.name)

    assert coupang.quantities == {"70000000001": 4}
    assert "1 listings looked at, 1 sent, 0 unchanged, 0 refused" in output
    assert "0 sent, 1 unchanged" in run("push_stock", "--account", coupang_account.name, "--all")
    assert "1 sent" in run("push_stock", "--account", coupang_account.name, "--all", "--force")
    assert len(coupang.quantity_pushes) == 2


def test_push_stock_fails_with_the_refusal(
    coupang: FakeCoupang, coupang_account: ChannelAccount, warehouse
) -> None:
    tee = stocked("TEE-BK-M", 4, location=warehouse)
    listing(coupang_account, "13000000001", "70000000001", tee)
    coupang.fail_items(["70000000001"], code="ERROR", message="판매 중지된 옵션입니다.")

    with pytest.raises(CommandError, match=r"판매 중지된 옵션입니다\."):
        run("push_stock", "--account", coupang_account.name)


def test_confirm_orders_sends_and_reports_refusals(naver: FakeNaver, naver_account: ChannelAccount) -> None:
    assert "Nothing to confirm" in run("confirm_orders", "--account", naver_account.name)
    orders = naver.add_orders(2)
    run("collect_orders", "--account", naver_account.name)
    lines_transition(lines=list(OrderLine.objects.all()), target=LineStatus.CONFIRMED, actor=None)
    naver.fail_items({orders[0].product_order_ids[0]: ("CLAIM_REQUESTED", "취소 요청된 상품주문입니다.")})

    with pytest.raises(CommandError, match=r"취소 요청된 상품주문입니다\."):
        run("confirm_orders", "--account", naver_account.name)
    assert naver.confirmed == orders[1].product_order_ids

    naver.item_failures.clear()
    output = run("confirm_orders", "--account", naver_account.name)  # a refused line is sent again
    assert "1 lines sent, 1 confirmed, 0 refused" in output


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_failure_exits_non_zero_with_the_reason_and_no_traceback(
    naver: FakeNaver, naver_account: ChannelAccount
) -> None:
    naver.client_secret = "$2a$04$abcdefghijklmnopqrstuu"
    done = subprocess.run(
        [sys.executable, "manage.py", "collect_orders", "--account", naver_account.name],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": _database_url()},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "client_secret_sign" in done.stderr and "Traceback" not in done.stderr
    # the job summary line, in the command's language (Korean by default)
    assert f"{naver_account.name} " in done.stdout and "#" in done.stdout
