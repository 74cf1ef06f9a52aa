"""Collecting 10,000 orders from FakeNaver end to end, beside a bare bulk insert of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/collect_orders.py [--orders 10000] [--rate 50] [--rounds 3]

The script creates (drops and re-creates) its own database "<name>_bench_collect" next to the one
in DATABASE_URL and migrates it, so it never touches real data. FakeNaver runs in this process
over real HTTP (127.0.0.1) with --orders orders of 1-3 lines each (options of 9 SKUs, 매칭 saved
as OptionMappings, enough stock for every line).

  - collect: channels.services_sync.channel_orders_collect for the account, exactly as the
    scheduled task runs it: the real Naver adapter (token, last-changed-statuses paging in 24 h
    windows, details in batches of 300) through session_for() with its shared token-bucket rate
    limiter (Redis with REDIS_URL) and the call log, then orders.ingest in transactions of 200
    orders (order, lines, SKU allocation by option mapping, stock reservation with row locks,
    ledger and stock-dirty marks, events) and the listings the orders show. Naver's rate is set
    to --rate calls a second (a bench-only rate: the adapter's 2/s would make the run measure
    the sleep, ~70 calls); the bucket still meters every call.
  - bare insert: the same ChannelOrders (read once from the fake beforehand) as Order and
    OrderLine rows with bulk_create, 1,000 per statement, one transaction: the physical limit of
    storing the rows, with no HTTP, mapping, reservation, ledger or events.

Each round collects into a fresh account (and deletes the previous round's rows), so every
round is a first collection; the medians are printed, then a second collection of the last
account checks idempotency (0 new) and times a re-read.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._db import scratch_database_url  # noqa: E402

OPTIONS = 9


def bench_database_url(url: str) -> str:
    return scratch_database_url(url, suffix="_bench_collect", script="collect_orders.py")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def load_catalog(stock_per_sku: int) -> list[Any]:
    from catalog.models import Product, Sku
    from inventory.models import Location
    from inventory.services import stock_receive

    warehouse = Location.objects.create(code="BENCH", name="벤치 창고", sells=True, priority=1)
    product = Product.objects.create(code="TEE", name="기본 반팔 티셔츠", sale_price=19900)
    skus = Sku.objects.bulk_create(
        [Sku(product=product, code=f"TEE-{n}", option_label=f"옵션 {n}") for n in range(OPTIONS)]
    )
    for sku in skus:
        stock_receive(sku=sku, location=warehouse, quantity=stock_per_sku, reason="bench")
    return skus


def make_account(naver: Any, name: str, skus: list[Any]) -> Any:
    from channels.models import OptionMapping, OptionMappingItem
    from channels.services_accounts import channel_account_create

    account = channel_account_create(
        actor=None,
        marketplace="smartstore",
        name=name,
        base_url=naver.api_url,
        credentials={"client_id": naver.client_id, "client_secret": naver.client_secret},
        settings={"stock_push_enabled": False},
    )
    for n, sku in enumerate(skus):  # 매칭 made once, used by every order of that option
        mapping = OptionMapping.objects.create(
            account=account, channel_product_id="4000000001", option_key=str(30000001 + n)
        )
        OptionMappingItem.objects.create(mapping=mapping, sku=sku, quantity=1)
    return account


def clear_orders() -> None:
    from django.db import connection

    from inventory.models import Reservation, StockDirty, StockLevel, StockMovement

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE orders_orderevent, orders_linesku, orders_orderline, orders_order, channels_calllog, "
            "channels_listing CASCADE"
        )
    Reservation.objects.all().delete()
    StockMovement.objects.exclude(type=StockMovement.Type.RECEIVE).delete()
    StockLevel.objects.update(reserved=0)
    StockDirty.objects.all().delete()


def bare_insert(account: Any, orders: list[Any]) -> float:
    """Order and OrderLine rows for `orders`, bulk_create only; returns the seconds taken."""
    from django.db import transaction

    from orders.models import Order, OrderLine

    started = time.perf_counter()
    with transaction.atomic():
        rows = [
            Order(
                account=account,
                external_order_id=o.external_order_id,
                ordered_at=o.ordered_at,
                paid_at=o.paid_at,
                buyer_name=o.buyer_name,
                buyer_phone=o.buyer_phone,
                recipient_name=o.recipient_name,
                recipient_phone=o.recipient_phone,
                zip_code=o.zip_code,
                address1=o.address1,
                address2=o.address2,
                delivery_message=o.delivery_message,
                shipping_fee=o.shipping_fee,
                bundle_key=o.bundle_key,
                raw=o.raw,
            )
            for o in orders
        ]
        Order.objects.bulk_create(rows, batch_size=1000)
        lines = [
            OrderLine(
                order=row,
                account=account,
                external_line_id=ln.external_line_id,
                channel_product_id=ln.channel_product_id,
                channel_option_id=ln.channel_option_id,
                product_name=ln.product_name,
                option_text=ln.option_text,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                line_total=ln.line_total or 0,
                ordered_at=row.ordered_at,
            )
            for row, o in zip(rows, orders, strict=True)
            for ln in o.lines
        ]
        OrderLine.objects.bulk_create(lines, batch_size=1000)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0, help="Naver calls per second for the bench")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("set DATABASE_URL=postgres://... (the bench makes its own database next to it)")
    setup_django(bench_database_url(url))

    from datetime import timedelta

    from django.utils import timezone

    from channels.adapters.naver import NaverCommerceAdapter
    from channels.http import adapter_for
    from channels.models import SyncJob
    from channels.services_sync import channel_orders_collect
    from orders.models import Order, OrderLine
    from tests.fakes.naver import FakeNaver

    NaverCommerceAdapter.rate_per_second = args.rate
    skus = load_catalog(stock_per_sku=args.orders)  # every line can be reserved
    with FakeNaver() as naver:
        started = time.perf_counter()
        naver.add_orders(args.orders, start=timezone.now() - timedelta(hours=20), step=timedelta(seconds=5))
        lines_total = len(naver.product_orders)
        made_in = time.perf_counter() - started
        print(f"FakeNaver: {args.orders:,} orders, {lines_total:,} lines made in {made_in:.2f} s")

        # The same orders as the adapter yields them, for the bare insert.
        reader = make_account(naver, "벤치 읽기", skus)
        fetched = list(
            adapter_for(reader).fetch_orders(since=timezone.now() - timedelta(days=1), until=timezone.now())
        )
        assert len(fetched) == args.orders, len(fetched)

        collect_rates, bare_rates, collect_times = [], [], []
        account = None
        for round_no in range(1, args.rounds + 1):
            clear_orders()
            account = make_account(naver, f"벤치 {round_no}", skus)
            calls_before = len(naver.requests)
            started = time.perf_counter()
            outcome = channel_orders_collect(account_id=account.pk, since=timezone.now() - timedelta(days=1))
            collect_seconds = time.perf_counter() - started
            assert outcome.ok, outcome.error
            job = SyncJob.objects.get(pk=outcome.job.pk)
            stored = Order.objects.filter(account=account).count()
            lines = OrderLine.objects.filter(account=account)
            reserved = lines.filter(backorder=False, unmapped=False).count()
            assert stored == args.orders and job.created == args.orders, (stored, job.created)
            assert reserved == lines.count() == lines_total, (reserved, lines.count(), lines_total)
            calls = len(naver.requests) - calls_before

            clear_orders()
            bare_account = make_account(naver, f"벤치 bare {round_no}", skus)
            bare_seconds = bare_insert(bare_account, fetched)

            collect_rates.append(args.orders / collect_seconds)
            bare_rates.append(args.orders / bare_seconds)
            collect_times.append(collect_seconds)
            print(
                f"round {round_no}: collect {collect_seconds:6.2f} s = "
                f"{args.orders / collect_seconds:7.0f} orders/s "
                f"({calls} HTTP calls, {lines_total:,} lines reserved); "
                f"bare insert {bare_seconds:5.2f} s = {args.orders / bare_seconds:7.0f} orders/s"
            )

        # idempotency: collect the last round's orders into its account again
        clear_orders()
        assert account is not None
        channel_orders_collect(account_id=account.pk, since=timezone.now() - timedelta(days=1))
        started = time.perf_counter()
        again = channel_orders_collect(account_id=account.pk, since=timezone.now() - timedelta(days=1))
        again_seconds = time.perf_counter() - started
        assert again.ok and again.ingest.orders_created == 0 and again.ingest.lines_created == 0

    collect = statistics.median(collect_rates)
    bare = statistics.median(bare_rates)
    seconds = statistics.median(collect_times)
    print()
    print(f"median collect:     {seconds:6.2f} s for {args.orders:,} orders = {collect:7.0f} orders/s")
    print(f"median bare insert: {args.orders / bare:6.2f} s                     = {bare:7.0f} orders/s")
    print(f"collect / bare:     {collect / bare:6.3f}  (goal >= 0.100)")
    print(f"collecting again:   {again_seconds:6.2f} s, 0 new orders, 0 new lines (idempotent)")
    ok = collect / bare >= 0.1 and seconds < 60
    print("goals met" if ok else "GOALS MISSED")


if __name__ == "__main__":
    main()
