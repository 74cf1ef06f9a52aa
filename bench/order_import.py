"""Issue 4, benchmark 8a: a 100,000-line SmartStore-format order sheet imported end to end
(read, parse, validate, map, reserve, store), beside python-calamine alone reading the same
file in the same run; then the same sheet again (nothing new).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms_bench_import \
        .venv/bin/python bench/order_import.py [--lines N]

The script creates (or recreates) the database named in DATABASE_URL, migrates it, makes a
catalog of 200 SKUs with plenty of stock (plus lines whose codes map to nothing), writes the
sheet with xlsxwriter, and prints the figures against the goals: whole import within 10x the
bare calamine read, the second import within 3x.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
# Production-like: with DEBUG on, Django keeps the text of every query it ran in memory.
os.environ.setdefault("DEBUG", "0")

HEADERS = [
    "상품주문번호",
    "주문번호",
    "배송방법",
    "택배사",
    "송장번호",
    "발송일",
    "구매자명",
    "구매자ID",
    "수취인명",
    "주문상태",
    "주문세부상태",
    "결제일",
    "상품번호",
    "상품명",
    "옵션정보",
    "옵션관리코드",
    "수량",
    "옵션가격",
    "상품가격",
    "최종 상품별 할인액",
    "최종 상품별 총 주문금액",
    "배송비 묶음번호",
    "배송비 합계",
    "판매자 상품코드",
    "수취인연락처1",
    "수취인연락처2",
    "통합배송지",
    "기본배송지",
    "상세배송지",
    "구매자연락처",
    "우편번호",
    "배송메세지",
    "주문일시",
]
NAMES = ["김민준", "이서연", "박지호", "최수아", "정우진", "강하은", "조예준", "윤지우", "장서준", "임하린"]
ADDRESSES = [
    ("서울특별시 중구 세종대로 110", "3층", "04524"),
    ("부산광역시 해운대구 해운대로 570", "101동 1203호", "48058"),
    ("대전광역시 유성구 대학로 99", "기숙사 B동", "34126"),
    ("제주특별자치도 제주시 첨단로 242", "", "63309"),
]


def make_database(url: str) -> None:
    import psycopg
    from dj_database_url import parse

    cfg = parse(url)
    admin = psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=cfg["PORT"] or 5432,
        user=cfg["USER"] or "postgres",
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}"')
    admin.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
    admin.close()


def write_sheet(path: Path, lines: int, codes: list[str]) -> int:
    import xlsxwriter

    rng = random.Random(7)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    ws = book.add_worksheet("발송처리")
    ws.write_string(0, 0, "※ 개인정보 보호를 위해 다운로드 파일에 비밀번호가 설정되었습니다.")
    for c, h in enumerate(HEADERS):
        ws.write_string(1, c, h)
    row, line_no, order_no = 2, 0, 0
    while line_no < lines:
        order_no += 1
        n_lines = min(rng.choice((1, 1, 1, 2, 3)), lines - line_no)
        name = rng.choice(NAMES)
        base, detail, zip_code = rng.choice(ADDRESSES)
        phone = f"010-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        for _ in range(n_lines):
            line_no += 1
            code = rng.choice(codes) if rng.random() > 0.02 else "NO-SUCH-CODE"
            qty = rng.choice((1, 1, 2))
            values = {
                "상품주문번호": f"2026112{line_no:010d}",
                "주문번호": f"2026112{order_no:09d}",
                "배송방법": "택배,등기,소포",
                "구매자명": name,
                "구매자ID": "user****",
                "수취인명": name,
                "주문상태": "결제완료",
                "주문세부상태": "신규주문",
                "결제일": "2026-11-20 09:01:00",
                "상품번호": "1000" + code,
                "상품명": "벤치 상품",
                "옵션정보": f"옵션: {code}",
                "옵션관리코드": code,
                "수량": qty,
                "옵션가격": 0,
                "상품가격": 19000,
                "최종 상품별 할인액": 0,
                "최종 상품별 총 주문금액": 19000 * qty,
                "배송비 묶음번호": f"B{order_no}",
                "배송비 합계": 3000,
                "판매자 상품코드": code,
                "수취인연락처1": phone,
                "수취인연락처2": "",
                "통합배송지": f"{base} {detail}",
                "기본배송지": base,
                "상세배송지": detail,
                "구매자연락처": phone,
                "우편번호": zip_code,
                "배송메세지": "문 앞",
                "주문일시": "2026-11-20 09:00:00",
            }
            for c, h in enumerate(HEADERS):
                v = values.get(h, "")
                if isinstance(v, int):
                    ws.write_number(row, c, v)
                elif v:
                    ws.write_string(row, c, v)
            row += 1
    book.close()
    return order_no


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--profile", metavar="DIR", help="write a cProfile of each import into DIR")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a Postgres database this script may drop and recreate.")
    make_database(url)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from python_calamine import CalamineWorkbook

    from catalog.models import Product, Sku
    from channels.models import ChannelAccount, Marketplace
    from inventory.models import Location
    from inventory.services import stock_receive
    from orders.excel import parse_order_sheet
    from orders.excel_profiles import BUILTIN_PROFILES
    from orders.ingest import orders_ingest
    from orders.models import Order, OrderLine

    product = Product.objects.create(code="BENCH", name="벤치 상품", sale_price=19000)
    location = Location.objects.create(code="WH", name="본사 창고", priority=1)
    codes = [f"B-{i:04d}" for i in range(200)]
    for code in codes:
        sku = Sku.objects.create(product=product, code=code, option_label=code)
        stock_receive(sku=sku, location=location, quantity=10_000_000)
    account = ChannelAccount.objects.create(marketplace=Marketplace.SMARTSTORE, name="벤치 스마트스토어")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "smartstore.xlsx"
        t = time.perf_counter()
        orders_written = write_sheet(path, args.lines, codes)
        print(
            f"sheet: {args.lines:,} lines in {orders_written:,} orders, {path.stat().st_size / 1e6:.1f} MB, "
            f"written in {time.perf_counter() - t:.1f} s"
        )

        t = time.perf_counter()
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("발송처리").to_python()
        calamine = time.perf_counter() - t
        print(f"python-calamine alone: {len(rows):,} rows read in {calamine:.2f} s")
        del rows

        import gc

        gc_time = [0.0, 0]
        gc_start = [0.0]

        def gc_watch(phase: str, info: dict) -> None:
            if phase == "start":
                gc_start[0] = time.perf_counter()
            else:
                gc_time[0] += time.perf_counter() - gc_start[0]
                gc_time[1] += 1

        gc.callbacks.append(gc_watch)

        def run(label: str) -> float:
            gc_time[:] = [0.0, 0]
            profiler = None
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            t0 = time.perf_counter()
            parsed = parse_order_sheet(
                path, account=account, profile=BUILTIN_PROFILES["smartstore"], filename=path.name
            )
            t1 = time.perf_counter()
            result = orders_ingest(account=account, orders=parsed.orders, source=Order.Source.EXCEL)
            t2 = time.perf_counter()
            total = t2 - t0
            if profiler is not None:
                profiler.disable()
                Path(args.profile).mkdir(parents=True, exist_ok=True)
                profiler.dump_stats(str(Path(args.profile) / f"{label.strip().replace(' ', '_')}.prof"))
            print(
                f"{label}: read+parse {t1 - t0:.1f} s, map+reserve+store {t2 - t1:.1f} s, "
                f"total {total:.1f} s "
                f"({total / calamine:.1f}x calamine); lines created {result.lines_created:,}, unchanged "
                f"{result.lines_unchanged:,}, reserved {result.reserved:,}, unmapped {result.unmapped:,}, "
                f"row errors {len(parsed.errors)}; garbage collector {gc_time[0]:.2f} s in {gc_time[1]} runs"
            )
            return total

        first = run("first import ")
        second = run("second import")
        assert OrderLine.objects.count() == args.lines
        first_ok = "OK" if first <= 10 * calamine else "MISSED"
        second_ok = "OK" if second <= 3 * calamine else "MISSED"
        print(
            f"goal: first within 10x calamine -> {first / calamine:.1f}x {first_ok}; "
            f"second within 3x -> {second / calamine:.1f}x {second_ok}"
        )


if __name__ == "__main__":
    main()
