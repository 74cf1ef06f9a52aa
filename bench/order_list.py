"""The order list (상품주문 목록) at 1,000,000 lines, through Django's full request path.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/order_list.py [--lines 1000000] [--requests 50] [--fresh]

It works in its own database "oms_bench_orders" on the server of DATABASE_URL (created and
migrated here; --fresh drops it first; otherwise the generated data is reused when it is
already there). Data is generated with COPY: 6 channel accounts, 1,000 SKUs, ~714,000 orders
and the requested number of lines spread over a year (the last days mostly new/confirmed, older
ones delivered/completed/cancelled, ~0.5% unmapped or short of stock), realistic names and
phones (a fifth of them 050x safe numbers), one LineSku per mapped line. The secondary indexes
are dropped during the load and re-created from the migrations' own definitions, then the
tables are vacuumed and analysed.

Every request goes through django.test.Client as a logged-in manager with DEBUG off: middleware,
session, auth, the view, the selectors, the template. For each scenario it times --requests
requests and prints p50 / p95 / max against the 150 ms goal:

  first page        /orders/
  filtered page     /orders/?account=<one of 6>&status=new (accounts in turn)
  deep page         the page 20 "next" links deep, and a cursor 900,000 lines deep
  last-4 search     /orders/?q=<last 4 digits of a phone> (a different number each time)

Tab counts are cached for 30 s per filter set (orders.selectors.COUNTS_TTL); each scenario is
timed twice: "warm" (as a user clicking around sees it) and "cold" (the cache cleared before
every request, so the counts are computed each time). Extra search kinds (full phone, name,
SKU code, product name) are printed for information.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_MS = 150.0
BENCH_DB = "oms_bench_orders"


def prepare_environment(db_name: str, fresh: bool) -> None:
    """Point Django at the bench database (created if missing) with production-like settings."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    url = os.environ.get("DATABASE_URL", "")
    config = dj_database_url.parse(url) if url else {}
    if config.get("ENGINE") != "django.db.backends.postgresql":
        sys.exit("bench/order_list.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    params: dict[str, Any] = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        if fresh:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name)))
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name]).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))
    head, _sep, _old = url.rpartition("/")
    os.environ["DATABASE_URL"] = f"{head}/{db_name}"
    # Production-like: DEBUG off (no query log), hashed static files.
    static_root = Path(tempfile.gettempdir()) / "oms_bench_orders_static"
    os.environ.update(
        {
            "DEBUG": "0",
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "STATIC_ROOT": str(static_root),
            "OMS_VAR_DIR": os.environ.get(
                "OMS_VAR_DIR", str(Path(tempfile.gettempdir()) / "oms_bench_orders")
            ),
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdef")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")


# --- Data -----------------------------------------------------------------------------------------

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍전고문양손배백허남심노하곽성차주우구민유진지엄채원"
GIVEN = (
    *("민준", "서연", "도윤", "지우", "서준", "하윤", "예준", "서윤", "시우", "지민", "주원", "지유", "하준"),
    *("채원", "지호", "수아", "준서", "지아", "건우", "다은", "현우", "은서", "우진", "예린", "선우", "수빈"),
    *("연우", "소율", "유준", "예은", "정우", "하은", "승우", "윤서", "민재", "가은", "현준", "민서", "지환"),
)
# State mix: lines of the last 3 days are still being worked; older ones went out long ago.
OPEN_MIX = (("new", 0.6), ("confirmed", 0.9), ("hold", 0.94), ("ready", 1.01))
CLOSED_MIX = (("completed", 0.86), ("delivered", 0.91), ("cancelled", 0.97), ("returned", 1.01))
PRODUCT_WORDS = ("울", "코튼", "린넨", "데님", "캐시미어", "오버핏", "슬림", "베이직", "스트라이프", "체크")
PRODUCT_KINDS = ("니트", "셔츠", "티셔츠", "슬랙스", "원피스", "가디건", "자켓", "코트", "스커트", "후드")
ADDRESSES = (
    ("06236", "서울특별시 강남구 테헤란로 152"),
    ("04524", "서울특별시 중구 세종대로 110"),
    ("03925", "서울특별시 마포구 월드컵북로 396"),
    ("13529", "경기도 성남시 분당구 판교역로 166"),
    ("48058", "부산광역시 해운대구 센텀중앙로 79"),
    ("41911", "대구광역시 중구 공평로 88"),
    ("61945", "광주광역시 서구 내방로 111"),
    ("35242", "대전광역시 서구 둔산로 100"),
)


def _copy(cursor: Any, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
    n = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def generate(lines_wanted: int) -> None:
    """Fill the bench database with `lines_wanted` order lines (COPY, indexes rebuilt after)."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from catalog.models import Product, Sku
    from channels.models import ChannelAccount, Marketplace
    from orders.models import LineSku, Order, OrderLine

    rng = random.Random(42)
    print(f"generating {lines_wanted:,} lines ...", flush=True)
    started = time.perf_counter()
    accounts = [
        ChannelAccount.objects.create(name=name, marketplace=market)
        for name, market in (
            ("스마트스토어 1호점", Marketplace.SMARTSTORE),
            ("스마트스토어 2호점", Marketplace.SMARTSTORE),
            ("쿠팡", Marketplace.COUPANG),
            ("11번가", Marketplace.ELEVENST),
            ("G마켓", Marketplace.GMARKET),
            ("자사몰", Marketplace.CAFE24),
        )
    ]
    products = Product.objects.bulk_create(
        Product(
            code=f"BP{i:04d}",
            name=f"{PRODUCT_WORDS[i % 10]} {PRODUCT_KINDS[(i // 10) % 10]} {i:03d}",
            sale_price=19000 + (i % 20) * 2000,
        )
        for i in range(200)
    )
    skus = Sku.objects.bulk_create(
        Sku(product=p, code=f"{p.code}-{j}", option_label=f"옵션 {j}") for p in products for j in range(5)
    )
    sku_info = [(s.pk, s.code, s.product.name, s.option_label, s.product.sale_price) for s in skus]

    tables = [Order._meta.db_table, OrderLine._meta.db_table, LineSku._meta.db_table]
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.tablename = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            """,
            [tables],
        )
        secondary = cur.fetchall()
        for name, _definition in secondary:
            cur.execute(f'DROP INDEX "{name}"')

    now = timezone.now()
    orders_wanted = int(lines_wanted / 1.4)
    open_window = dt.timedelta(days=3)
    order_cols = [
        "id", "account_id", "external_order_id", "ordered_at", "paid_at", "buyer_name", "buyer_phone",
        "recipient_name", "recipient_phone", "recipient_phone2", "phone_last4", "zip_code", "zip_is_old",
        "address1", "address2", "delivery_message", "shipping_fee", "total_amount", "bundle_key", "source",
        "memo", "raw", "ingest_digest", "created_at", "updated_at",
    ]  # fmt: skip
    line_cols = [
        "id", "order_id", "account_id", "external_line_id", "channel_product_id", "channel_option_id",
        "product_name", "option_text", "seller_codes", "quantity", "unit_price", "discount", "line_total",
        "status", "status_before_hold", "channel_status", "unmapped", "backorder", "address_changed",
        "ordered_at", "confirmed_at", "created_at", "updated_at",
    ]  # fmt: skip
    linesku_cols = ["line_id", "sku_id", "quantity"]
    # Lines per order: 1 for most, 2 or 3 for some, adding up to lines_wanted.
    plan: list[int] = []
    remaining = lines_wanted
    for i in range(orders_wanted):
        left_orders = orders_wanted - i
        n = 1 if remaining <= left_orders else (2 if rng.random() < 0.8 else 3)
        n = min(n, remaining - (left_orders - 1)) if left_orders > 1 else remaining
        plan.append(max(1, n))
        remaining -= plan[-1]

    order_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    linesku_rows: list[tuple[int, int, int]] = []
    line_id = 0
    year = 365 * 24 * 3600
    for order_id, n_lines in enumerate(plan, start=1):
        age = dt.timedelta(seconds=year * (1 - (order_id / len(plan))) + rng.random() * 600)
        ordered_at = now - age
        account = accounts[rng.randrange(len(accounts))]
        safe = rng.random() < 0.2
        phone = (
            f"050{rng.choice('4678')}{rng.randint(10000000, 99999999)}"
            if safe
            else f"010{rng.randint(10000000, 99999999)}"
        )
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        zip_code, address = rng.choice(ADDRESSES)
        external = f"{2025000000000000 + order_id}"
        total = 0
        for k in range(n_lines):
            line_id += 1
            sku_id, code, product, option, price = sku_info[rng.randrange(len(sku_info))]
            recent = age < open_window
            roll = rng.random()
            cuts = OPEN_MIX if recent else CLOSED_MIX
            status = next(state for state, upto in cuts if roll < upto)
            unmapped = rng.random() < 0.005
            backorder = not unmapped and status in ("new", "confirmed", "hold") and rng.random() < 0.05
            quantity = 1 if rng.random() < 0.85 else 2
            total += price * quantity
            confirmed_at = ordered_at + dt.timedelta(hours=2) if status != "new" else None
            line_rows.append(
                (
                    line_id, order_id, account.pk, f"{external}{k + 1:02d}", f"{7000000 + sku_id}", "",
                    product, option, "[]" if unmapped else f'["{code}"]', quantity, price, 0,
                    price * quantity, status, "new" if status == "hold" else "", "", unmapped, backorder,
                    rng.random() < 0.002, ordered_at, confirmed_at, ordered_at, now,
                )
            )  # fmt: skip
            if not unmapped:
                linesku_rows.append((line_id, sku_id, quantity))
        detail = f"{rng.randint(101, 120)}동 {rng.randint(1, 25)}0{rng.randint(1, 4)}호"
        fee = 0 if total >= 30000 else 3000
        order_rows.append(
            (
                order_id, account.pk, external, ordered_at, ordered_at + dt.timedelta(minutes=2), name,
                phone, name, phone, "", phone[-4:], zip_code, False, address, detail, "문 앞", fee, total,
                "", "excel", "", "{}", "", ordered_at, now,
            )
        )  # fmt: skip
    with connection.cursor() as cur:
        raw = cur.cursor
        print(f"  rows built in {time.perf_counter() - started:.0f} s; copying ...", flush=True)
        _copy(raw, tables[0], order_cols, iter(order_rows))
        _copy(raw, tables[1], line_cols, iter(line_rows))
        _copy(raw, tables[2], linesku_cols, iter(linesku_rows))
        for table in tables:
            sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
            cur.execute(sql)
        print(f"  copied in {time.perf_counter() - started:.0f} s; re-creating {len(secondary)} indexes ...")
        for _name, definition in secondary:
            cur.execute(definition)
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(f"VACUUM ANALYZE {table}")
    print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)


# --- Timing ---------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)  # the whole request, ms
    cpu: list[float] = field(default_factory=list)  # this process's CPU time, ms
    db: list[float] = field(default_factory=list)  # waiting on the database, ms
    queries: int = 0


def time_requests(
    client: Any, urls: list[str], *, cold: bool, check: Callable[[Any], None] | None = None
) -> Timing:
    from django.core.cache import cache
    from django.db import connection

    timing = Timing()
    db_ms = [0.0]

    def measure(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db_ms[0] += (time.perf_counter() - started) * 1000
            timing.queries += 1

    with connection.execute_wrapper(measure):
        for url in urls:
            if cold:
                cache.clear()
            db_ms[0] = 0.0
            cpu = time.process_time()
            started = time.perf_counter()
            response = client.get(url)
            timing.wall.append((time.perf_counter() - started) * 1000)
            timing.cpu.append((time.process_time() - cpu) * 1000)
            timing.db.append(db_ms[0])
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            if check:
                check(response)
    return timing


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--db", default=BENCH_DB)
    parser.add_argument("--fresh", action="store_true", help="drop and re-create the bench database")
    args = parser.parse_args()

    prepare_environment(args.db, args.fresh)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)

    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from channels.models import ChannelAccount
    from oms.listing import _encode
    from oms.models import User
    from oms.roles import Role
    from oms.services import user_create
    from orders.models import SORT_AT, Order, OrderLine

    have = OrderLine.objects.count()
    if have != args.lines:
        if have:
            raise SystemExit(f"{args.db} holds {have:,} lines, not {args.lines:,}: run with --fresh")
        generate(args.lines)

    user = User.objects.filter(username="bench").first() or user_create(
        actor=None,
        username="bench",
        password="bench-password-2026",  # noqa: S106
        role=Role.MANAGER,
    )
    client = Client()
    client.force_login(user)
    base = reverse("orders:order_list")
    n = args.requests
    accounts = list(ChannelAccount.objects.order_by("pk").values_list("pk", flat=True))

    def shows_rows(response: Any) -> None:
        assert response.content.count(b'name="ids"') > 0, "no rows"

    # Deep: follow the pager's "next" link 20 times, then a cursor 900,000 lines deep.
    url = base
    for _ in range(20):
        body = client.get(url).content.decode()
        cursor = re.findall(r"[?&]after=([A-Za-z0-9_-]+)", body)[-1]
        url = f"{base}?after={cursor}"
    deep20 = url
    row = (
        OrderLine.objects.annotate(sort_at=SORT_AT)
        .order_by("-sort_at", "-pk")
        .values_list("sort_at", "pk")[min(900_000, args.lines - 100)]
    )
    deep900k = f"{base}?after={_encode([row[0], row[1]])}"

    phones = list(Order.objects.order_by("?").values_list("phone_last4", flat=True)[: n * 2])
    phones = list(dict.fromkeys(phones))[:n]
    full_phone = Order.objects.order_by("?").values_list("recipient_phone", flat=True).first()
    name = Order.objects.order_by("?").values_list("recipient_name", flat=True).first()

    scenarios: list[tuple[str, list[str], bool]] = [
        ("first page", [base] * n, True),
        (
            "filtered page (account + new)",
            [f"{base}?account={accounts[i % len(accounts)]}&status=new" for i in range(n)],
            True,
        ),
        ("deep page (20 x next)", [deep20] * n, True),
        ("deep page (cursor 900k deep)", [deep900k] * n, True),
        ("search: last 4 digits of a phone", [f"{base}?q={p}" for p in phones], True),
        ("search: full phone (info)", [f"{base}?q={full_phone}"] * n, False),
        ("search: recipient name (info)", [f"{base}?q={name}"] * n, False),
        ("search: SKU code (info)", [f"{base}?q=BP0042-3"] * n, False),
        ("search: product name, common (info)", [f"{base}?q=니트"] * n, False),
        ("search: no match (info)", [f"{base}?q=존재하지않는상품"] * n, False),
    ]
    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        version = cur.fetchone()[0].split(",")[0]
    print(f"\n{args.lines:,} order lines, {Order.objects.count():,} orders; {version}; {n} requests each")
    head = f"{'scenario':38} {'counts':6} {'p50':>7} {'p95':>7} {'max':>7}   {'cpu p50':>7} {'db p50':>7}"
    print(f"{head} {'q/req':>5}  goal: p95 < {GOAL_MS:.0f} ms (times in ms)")
    failed = False
    for title, urls, goal in scenarios:
        for cold in (False, True):
            time_requests(client, urls[:3], cold=cold)  # warm the code path, not the data
            t = time_requests(client, urls, cold=cold, check=shows_rows if goal else None)
            p95 = percentile(t.wall, 95)
            verdict = ("ok" if p95 < GOAL_MS else "OVER") if goal else "(info)"
            failed |= goal and p95 >= GOAL_MS
            print(
                f"{title:38} {'cold' if cold else 'warm':6} {statistics.median(t.wall):7.1f} {p95:7.1f} "
                f"{max(t.wall):7.1f}   {statistics.median(t.cpu):7.1f} {statistics.median(t.db):7.1f} "
                f"{t.queries / len(urls):5.1f}  {verdict}",
                flush=True,
            )
    one, five, fifteen = os.getloadavg()
    print(f"\nload average at the end: {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores")
    print("\nall goals met" if not failed else "\nsome goals missed")


if __name__ == "__main__":
    main()
