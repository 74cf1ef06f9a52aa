"""How fast could a reservation be here at all? The floor under bench/stock_reserve.py's ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms .venv/bin/python bench/reserve_floor.py

It loads the same stock as bench/stock_reserve.py into its own database "<name>_floor" (dropped
and re-created), then times 50 worker processes that talk to Postgres with psycopg alone (no
Django, statements prepared once, autocommit), spread over 1,000 SKUs, one statement per
reservation:

  bare        UPDATE stocklevel SET reserved = reserved + 1 WHERE ... (the bare loop of
              stock_reserve.py: one row, no history)
  +res        the same UPDATE and the Reservation row, in one statement (a CTE)
  +res+ledger the same and a ledger row, in one statement (a CTE)
  function    inventory_reserve_one(), what stock_reserve runs: the two writes above plus
              bundles, every selling location, the "already reserved" check under the lock,
              all-or-nothing shortages and the stock-dirty mark

and prints each rate and its share of the bare rate. The CTE rows skip every check the service
must make, so they bound from above what any implementation of the same bookkeeping can reach
on this machine. --rounds repeats each (median printed); --seconds sets the length of a run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._db import scratch_database_url  # noqa: E402
from bench.stock_reserve import load_stock, setup_django  # noqa: E402

BARE = "UPDATE inventory_stocklevel SET reserved = reserved + 1 WHERE id = %s AND on_hand - reserved >= 1"
_UPDATE = (
    "WITH u AS (UPDATE inventory_stocklevel SET reserved = reserved + 1, updated_at = now() "
    "WHERE id = %s AND on_hand - reserved >= 1 RETURNING sku_id, location_id, on_hand, reserved)"
)
_RESERVATION = (
    ", r AS (INSERT INTO inventory_reservation (sku_id, location_id, reference, quantity, "
    "original_quantity, consumed, released, created_at, updated_at) "
    "SELECT sku_id, location_id, %s, 1, 1, 0, 0, now(), now() FROM u RETURNING id)"
)
_LEDGER = (
    ", m AS (INSERT INTO inventory_stockmovement (sku_id, location_id, type, quantity, reserved_delta, "
    "on_hand_after, reserved_after, reason, reference, user_id, created_at) "
    "SELECT sku_id, location_id, 'reserve', 0, 1, on_hand, reserved, '', %s, NULL, now() FROM u)"
)
STATEMENTS = {
    "bare": BARE,
    "+res": _UPDATE + _RESERVATION + " SELECT id FROM r",  # noqa: S608 (constants only)
    "+res+ledger": _UPDATE + _RESERVATION + _LEDGER + " SELECT id FROM r",  # noqa: S608
    "function": "SELECT * FROM inventory_reserve_one(%s, %s::bigint[], %s::integer[], NULL, NULL)",
}


def worker(mode: str, dsn: str, targets: list[int], seconds: float, barrier: Any, queue: Any, n: int) -> None:
    import psycopg

    rng = random.Random(n)
    done = 0
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        sql = STATEMENTS[mode]
        barrier.wait(timeout=120)
        started = time.monotonic()
        deadline = started + seconds
        while time.monotonic() < deadline:
            target = rng.choice(targets)
            reference = f"floor:{mode}:{n}:{done}:{started}"
            if mode == "bare":
                cur.execute(sql, [target], prepare=True)
            elif mode == "function":
                cur.execute(sql, [reference, f"{{{target}}}", "{1}"], prepare=True)
                cur.fetchall()
            else:
                cur.execute(
                    sql, [target, reference] + ([reference] if "ledger" in mode else []), prepare=True
                )
                cur.fetchall()
            done += 1
        queue.put((done, time.monotonic() - started))


def run(mode: str, dsn: str, targets: list[int], *, workers: int, seconds: float) -> float:
    ctx = mp.get_context("fork")
    barrier, queue = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=worker, args=(mode, dsn, targets, seconds, barrier, queue, n))
        for n in range(workers)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=seconds + 300) for _ in procs]
    for p in procs:
        p.join()
    return sum(done for done, _t in results) / max(t for _d, t in results)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("set DATABASE_URL=postgres://... (the bench creates and uses '<name>_floor' beside it)")
    floor_url = scratch_database_url(url, suffix="_floor", script="reserve_floor.py")
    setup_django(floor_url)
    from django.db import connection, connections

    targets = load_stock(skus=1000, on_hand=1_000_000, hot_on_hand=1, limited=1)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    name = connection.settings_dict["NAME"]
    connections.close_all()
    dsn = floor_url  # libpq reads the postgres:// URL itself

    print(f"database {name}, {os.cpu_count()} CPUs, {args.workers} processes (psycopg, prepared)")
    print("load average before: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    rates: dict[str, list[float]] = {mode: [] for mode in STATEMENTS}
    for round_ in range(args.rounds):
        for mode in STATEMENTS:
            level_targets = targets["sql"]["spread"] if mode != "function" else targets["service"]["spread"]
            rates[mode].append(run(mode, dsn, level_targets, workers=args.workers, seconds=args.seconds))
            print(f"  round {round_ + 1} {mode:12} {rates[mode][-1]:9.0f} /s", flush=True)
    print("load average after:  " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    bare = statistics.median(rates["bare"])
    print()
    print(f"{'one statement per reservation':32} {'per s':>8} {'x bare':>7}")
    for mode in STATEMENTS:
        rate = statistics.median(rates[mode])
        print(f"{mode:32} {rate:8.0f} {rate / bare:7.2f}")


if __name__ == "__main__":
    main()
