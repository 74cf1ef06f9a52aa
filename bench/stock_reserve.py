"""Reservations per second: inventory.services.stock_reserve against a bare SQL conditional UPDATE.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms .venv/bin/python bench/stock_reserve.py

The script creates (drops and re-creates) its own database "<name>_bench" next to the one in
DATABASE_URL, migrates it and loads its own SKUs, so it never touches real data. Then, for one
hot SKU and for reservations spread over 1,000 SKUs, the same pool of workers (default 50
processes, each with its own connection, started together on a barrier) runs for a fixed time:

  - service: stock_reserve(reference=..., lines=[(sku_id, 1)]) — the full service: bundle
    expansion, StockLevel row lock, idempotency check, reservation row, ledger row, stock-dirty
    mark, one transaction each;
  - bare SQL: UPDATE inventory_stocklevel SET reserved = reserved + 1
    WHERE id = %s AND on_hand - reserved >= 1 (autocommit): the physical limit of one
    reservation = one row update and one commit, with no ledger and no history.

Each scenario runs --rounds times, alternating the two, and the median is printed with the ratio
service / bare SQL beside the goal (1/2 spread, 1/3 hot). Both go through Django's connection as
the application does, with DEBUG off. --prepared also times the bare UPDATE as a prepared
statement on psycopg's own cursor (no parsing or planning per call), for information. Afterwards
it verifies zero oversell: 50 workers asking at once for twice the stock of a SKU must get
exactly the stock, and for every row reserved <= on_hand, the reservation rows and the ledger
add up to reserved, and each counted success is one unit reserved. Exit status: 1 on any
oversell or unexpected error, 2 when a rate goal is missed, 0 otherwise. --threads, --only,
--profile and --setup-sql help find where the time goes; results and the reading of them are in
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._db import scratch_database_url  # noqa: E402

MODES = ("sql", "service")
BARE_SQL = "UPDATE inventory_stocklevel SET reserved = reserved + 1 WHERE id = %s AND on_hand - reserved >= 1"


@dataclass
class Tally:
    ok: int = 0
    refused: int = 0
    errors: int = 0
    first_error: str = ""
    started: float = 0.0
    finished: float = 0.0


@dataclass
class Scenario:
    name: str
    mode: str  # "sql", "prepared" or "service"
    targets: list[int]  # StockLevel ids (sql) or SKU ids (service)


def bench_database_url(url: str) -> str:
    return scratch_database_url(url, suffix="_bench", script="stock_reserve.py")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    # Production-like: with DEBUG on, Django keeps every query of every worker in memory.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def load_stock(*, skus: int, on_hand: int, hot_on_hand: int, limited: int) -> dict[str, Any]:
    """Two identical sets (one for the service, one for bare SQL) of `skus` SKUs plus a hot SKU,
    and a small-stock SKU per mode for the oversell check. Stock arrives through the service,
    so the ledger is right from the start."""
    from django.db import transaction

    from catalog.models import Product, Sku
    from inventory.models import Location, StockLevel
    from inventory.services import stock_receive

    warehouse = Location.objects.create(code="BENCH", name="벤치 창고", sells=True, priority=1)
    product = Product.objects.create(code="BENCH", name="벤치 상품")
    out: dict[str, Any] = {}
    for mode in MODES:
        rows = [Sku(product=product, code=f"{mode.upper()}-{i:05d}") for i in range(skus)]
        rows.append(Sku(product=product, code=f"{mode.upper()}-HOT"))
        rows.append(Sku(product=product, code=f"{mode.upper()}-LIMITED"))
        created = Sku.objects.bulk_create(rows)
        with transaction.atomic():
            for sku in created[:skus]:
                stock_receive(sku=sku, location=warehouse, quantity=on_hand, reason="bench")
            stock_receive(sku=created[skus], location=warehouse, quantity=hot_on_hand, reason="bench")
            stock_receive(sku=created[skus + 1], location=warehouse, quantity=limited, reason="bench")
        level_of = dict(StockLevel.objects.filter(sku__in=created).values_list("sku_id", "pk"))
        ids = [sku.pk if mode == "service" else level_of[sku.pk] for sku in created]
        out[mode] = {"spread": ids[:skus], "hot": [ids[skus]], "limited": [ids[skus + 1]]}
    return out


# --- Workers --------------------------------------------------------------------------------------


def work(
    *,
    mode: str,
    targets: list[int],
    seconds: float,
    max_ops: int,
    run: str,
    worker: int,
    barrier: Any,
    batch: int = 1,
) -> Tally:
    from django.db import connection

    from inventory.services import InsufficientStock, ReserveRequest, stock_reserve, stock_reserve_many

    tally = Tally()
    rng = random.Random(f"{run}-{worker}")
    connection.ensure_connection()
    reserve: Callable[[int], int]  # -> how many of this call's reservations succeeded
    if mode == "sql":
        cursor = connection.cursor()

        def reserve(_i: int) -> int:
            cursor.execute(BARE_SQL, [rng.choice(targets)])
            return cursor.rowcount

    elif mode == "prepared":
        import psycopg

        # psycopg's own cursor on the same connection: parameters bound by the server and the
        # statement prepared once, so Postgres neither parses nor plans it again.
        prepared = psycopg.Cursor(connection.connection)

        def reserve(_i: int) -> int:
            prepared.execute(BARE_SQL, [rng.choice(targets)], prepare=True)
            return prepared.rowcount

    elif batch == 1:

        def reserve(i: int) -> int:
            try:
                stock_reserve(reference=f"bench:{run}:{worker}:{i}", lines=[(rng.choice(targets), 1)])
            except InsufficientStock:
                return 0
            return 1

    else:

        def reserve(i: int) -> int:
            requests = [
                ReserveRequest(f"bench:{run}:{worker}:{i}:{j}", [(rng.choice(targets), 1)])
                for j in range(batch)
            ]
            return sum(result.ok for result in stock_reserve_many(requests=requests))

    per_call = batch if mode == "service" else 1
    try:
        barrier.wait(timeout=120)
        tally.started = time.monotonic()
        deadline = tally.started + seconds
        i = 0
        while i < max_ops and time.monotonic() < deadline:
            try:
                ok = reserve(i)
                tally.ok += ok
                tally.refused += per_call - ok
            except Exception as exc:
                tally.errors += 1
                tally.first_error = tally.first_error or repr(exc)
            i += 1
        tally.finished = time.monotonic()
    finally:
        connection.close()
    return tally


def _process_entry(queue: Any, kwargs: dict[str, Any], profile_dir: str) -> None:
    if not profile_dir:
        queue.put((kwargs["worker"], work(**kwargs)))
        return
    import cProfile

    profiler = cProfile.Profile()
    tally = profiler.runcall(work, **kwargs)
    profiler.dump_stats(f"{profile_dir}/{kwargs['mode']}-{kwargs['run']}-{kwargs['worker']}.prof")
    queue.put((kwargs["worker"], tally))


def run_scenario(
    scenario: Scenario,
    *,
    workers: int,
    seconds: float,
    max_ops: int,
    use_threads: bool,
    run: str,
    profile_dir: str = "",
    batch: int = 1,
) -> list[Tally]:
    from django.db import connections

    connections.close_all()  # a forked child must not share the parent's socket
    tallies: list[Tally] = [Tally() for _ in range(workers)]

    def kwargs(worker: int, barrier: Any) -> dict[str, Any]:
        return {
            "mode": scenario.mode,
            "targets": scenario.targets,
            "seconds": seconds,
            "max_ops": max_ops,
            "run": run,
            "worker": worker,
            "barrier": barrier,
            "batch": batch,
        }

    if use_threads:
        barrier = threading.Barrier(workers)

        def thread_entry(worker: int) -> None:
            tallies[worker] = work(**kwargs(worker, barrier))

        threads = [threading.Thread(target=thread_entry, args=(w,)) for w in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return tallies

    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    barrier = ctx.Barrier(workers)
    processes = [
        ctx.Process(target=_process_entry, args=(queue, kwargs(w, barrier), profile_dir))
        for w in range(workers)
    ]
    for p in processes:
        p.start()
    for _ in range(workers):
        worker, tally = queue.get(timeout=seconds + 300)
        tallies[worker] = tally
    for p in processes:
        p.join()
        if p.exitcode != 0:
            sys.exit(f"worker exited with {p.exitcode}")
    return tallies


def rate(tallies: list[Tally]) -> float:
    elapsed = max(t.finished for t in tallies) - min(t.started for t in tallies)
    return sum(t.ok for t in tallies) / elapsed


def check_errors(name: str, tallies: list[Tally]) -> None:
    errors = sum(t.errors for t in tallies)
    if errors:
        first = next(t.first_error for t in tallies if t.first_error)
        sys.exit(f"{name}: {errors} unexpected errors, first: {first}")


# --- Checks -----------------------------------------------------------------------------------------


def verify(
    targets: dict[str, Any], successes: dict[str, int], limited: int, limited_ok: dict[str, int]
) -> list[str]:
    """Every way an oversell or a lost update would show; returns the problems found."""
    from django.db.models import Count, F, Sum

    from inventory.models import Reservation, StockLevel, StockMovement

    problems: list[str] = []
    if StockLevel.objects.filter(reserved__gt=F("on_hand")).exists():
        problems.append("a StockLevel has reserved > on_hand")
    for mode, ok in limited_ok.items():
        if ok != limited:
            problems.append(f"{mode}: {ok} reservations succeeded against {limited} in stock")
    # bare SQL: every counted success is one unit reserved, nothing else touched those rows
    sql_ids = [i for ids in targets["sql"].values() for i in ids]
    sql_reserved = StockLevel.objects.filter(pk__in=sql_ids).aggregate(r=Sum("reserved"))["r"] or 0
    if sql_reserved != successes["sql"]:
        problems.append(f"sql: {successes['sql']} successes but {sql_reserved} reserved")
    # service: the same, and the reservation rows and the ledger agree with every level
    sku_ids = [i for ids in targets["service"].values() for i in ids]
    levels = StockLevel.objects.filter(sku_id__in=sku_ids)
    service_reserved = levels.aggregate(r=Sum("reserved"))["r"] or 0
    if service_reserved != successes["service"]:
        problems.append(f"service: {successes['service']} successes but {service_reserved} reserved")
    held = dict(
        Reservation.objects.filter(sku_id__in=sku_ids)
        .values("sku_id")
        .annotate(h=Sum("quantity"))
        .values_list("sku_id", "h")
    )
    ledger = {
        row["sku_id"]: (row["q"], row["r"], row["n"])
        for row in StockMovement.objects.filter(sku_id__in=sku_ids)
        .values("sku_id")
        .annotate(q=Sum("quantity"), r=Sum("reserved_delta"), n=Count("id"))
    }
    for level in levels:
        q, r, _n = ledger.get(level.sku_id, (0, 0, 0))
        if (q, r) != (level.on_hand, level.reserved) or held.get(level.sku_id, 0) != level.reserved:
            problems.append(f"service: ledger/reservations disagree with {level}")
    if Reservation.objects.filter(sku_id__in=sku_ids).exclude(quantity=1).exists():
        problems.append("service: a reservation holds more than the 1 unit asked")
    return problems


# --- Main -------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each timed run")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per scenario (median printed)")
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--threads", action="store_true", help="threads instead of processes")
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="service workers reserve N requests per stock_reserve_many call (as order collection does)",
    )
    parser.add_argument(
        "--setup-sql",
        default="",
        metavar="SQL",
        help="run this SQL on the bench database before timing (experiments, e.g. DROP INDEX ...)",
    )
    parser.add_argument("--profile", default="", metavar="DIR", help="write a cProfile file per worker here")
    parser.add_argument(
        "--prepared",
        action="store_true",
        help="also time the bare UPDATE as a prepared statement (psycopg's own cursor), for information",
    )
    parser.add_argument(
        "--only", choices=["spread", "hot"], help="time only this scenario (the checks still run)"
    )
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("set DATABASE_URL=postgres://... (the bench creates and uses '<name>_bench' beside it)")
    bench_url = bench_database_url(url)
    setup_django(bench_url)
    from django.db import connection

    limited = 500
    targets = load_stock(skus=args.skus, on_hand=1_000_000, hot_on_hand=10_000_000, limited=limited)
    with connection.cursor() as cursor:
        if args.setup_sql:
            cursor.execute(args.setup_sql)
            print(f"setup SQL: {args.setup_sql}")
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SELECT version()")
        row = cursor.fetchone()
        pg_version = row[0].split(",")[0] if row else "?"

    kind = "threads" if args.threads else "processes"
    if args.batch > 1:
        kind += f"; the service reserves {args.batch} one-line requests per stock_reserve_many call"
    print(f"database {connection.settings_dict['NAME']} ({pg_version}), {os.cpu_count()} CPUs")
    print("load average before: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(
        f"{args.workers} worker {kind}, each its own connection; {args.rounds} x {args.seconds:g} s per run"
    )
    print()

    rates: dict[tuple[str, str], list[float]] = {}
    successes = {"sql": 0, "service": 0}
    timed = (*MODES, "prepared") if args.prepared else MODES
    for round_ in range(args.rounds):
        for where in [args.only] if args.only else ["spread", "hot"]:
            for mode in timed:
                # the prepared loop updates the bare SQL loop's rows
                counted = "sql" if mode == "prepared" else mode
                scenario = Scenario(f"{mode}-{where}", mode, targets[counted][where])
                tallies = run_scenario(
                    scenario,
                    workers=args.workers,
                    seconds=args.seconds,
                    max_ops=10**9,
                    use_threads=args.threads,
                    run=f"{where}{round_}",
                    profile_dir=args.profile,
                    batch=args.batch,
                )
                check_errors(scenario.name, tallies)
                if any(t.refused for t in tallies):
                    sys.exit(f"{scenario.name}: ran out of stock during a timed run; raise on_hand")
                successes[counted] += sum(t.ok for t in tallies)
                rates.setdefault((where, mode), []).append(rate(tallies))
                print(
                    f"  round {round_ + 1} {scenario.name:16} {rates[(where, mode)][-1]:9.0f} /s", flush=True
                )

    # The oversell check: more requests than stock, from every worker at once.
    limited_ok: dict[str, int] = {}
    for mode in MODES:
        per_worker = 2 * limited // args.workers + 1
        tallies = run_scenario(
            Scenario(f"{mode}-limited", mode, targets[mode]["limited"]),
            workers=args.workers,
            seconds=600,
            max_ops=per_worker,
            use_threads=args.threads,
            run="limited",
        )
        check_errors(f"{mode}-limited", tallies)
        limited_ok[mode] = sum(t.ok for t in tallies)
        successes[mode] += limited_ok[mode]

    print("load average after:  " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print()
    print(f"{'reservations/s (median)':28} {'service':>10} {'bare SQL':>10} {'ratio':>8} {'goal':>6}")
    goals = {"spread": 1 / 2, "hot": 1 / 3}
    met = True
    for where, label in (("spread", f"spread over {args.skus:,} SKUs"), ("hot", "one hot SKU")):
        if (where, "sql") not in rates:
            continue
        service = statistics.median(rates[(where, "service")])
        bare = statistics.median(rates[(where, "sql")])
        ratio = service / bare
        met &= ratio >= goals[where]
        verdict = f"{'>=' if ratio >= goals[where] else '<'}{goals[where]:.2f}"
        print(f"{label:28} {service:10.0f} {bare:10.0f} {ratio:8.2f} {verdict:>6}")
        if (where, "prepared") in rates:
            prepared = statistics.median(rates[(where, "prepared")])
            label = "  bare SQL, prepared"
            print(f"{label:28} {'':10} {prepared:10.0f} {service / prepared:8.2f}  (information)")
    print()
    problems = verify(targets, successes, limited, limited_ok)
    attempts = args.workers * (2 * limited // args.workers + 1)
    print(
        f"oversell check: {attempts} requests from {args.workers} workers at once for {limited} units -> "
        + ", ".join(f"{mode} reserved {ok}" for mode, ok in limited_ok.items())
    )
    if problems:
        print("OVERSELL / LOST UPDATE:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(
        f"zero oversell: reserved <= on_hand everywhere; {successes['service']:,} service and "
        f"{successes['sql']:,} bare SQL successes each hold exactly one unit; ledger and reservations balance"
    )
    if not met:
        sys.exit(2)


if __name__ == "__main__":
    main()
