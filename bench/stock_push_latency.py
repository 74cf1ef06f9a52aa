"""From a reservation's commit to the channels receiving the new stock, with beat and a worker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/stock_push_latency.py [--changes 200] [--skus 10]

The script creates (drops and re-creates) its own database "<name>_bench_push" next to the one
in DATABASE_URL and migrates it. FakeNaver and FakeCoupang run in this process over real HTTP;
a Naver and a Coupang account point at them, each with --skus listings linked to stocked SKUs.
Then it starts, as separate processes on the configured broker, `celery -A oms beat` (the
DatabaseScheduler with settings.CELERY_BEAT_SCHEDULE: the stock push every 3 s) and
`celery -A oms worker --concurrency 2`: exactly the production arrangement, nothing triggered
by hand.

Each change is one stock_reserve() of one unit of a random SKU (its own transaction; the time
is taken right after it returns, i.e. after the commit), at random intervals of 0.2-1.5 s so
the changes fall at every phase of the beat tick. A change counts as received by a channel when
the fake first receives, after the commit, a quantity for that listing at or below the new
exposed quantity (stock only goes down here, so a later push that covers several changes
delivers each of them). Latency = until both channels have it. Prints p50 / p95 / max.
The Naver and Coupang adapters run at their real rates (2 and 8 calls/s) in the worker.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._db import scratch_database_url  # noqa: E402

NAVER_PRODUCT = "5000000001"
COUPANG_PRODUCT = "13000000001"


def bench_database_url(url: str) -> str:
    return scratch_database_url(url, suffix="_bench_push", script="stock_push_latency.py")


class Receipts:
    """What the fakes received, with the time: (monotonic time, listing key, quantity)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: list[tuple[float, str, int]] = []

    def add(self, key: str, quantity: int) -> None:
        with self.lock:
            self.rows.append((time.monotonic(), key, quantity))

    def last(self, key: str) -> int | None:
        with self.lock:
            found = [q for _at, k, q in self.rows if k == key]
        return found[-1] if found else None

    def first_at_or_below(self, key: str, quantity: int, after: float) -> float | None:
        with self.lock:
            for at, k, q in self.rows:
                if at >= after and k == key and q <= quantity:
                    return at
        return None


def watch(naver: Any, coupang: Any, receipts: Receipts) -> None:
    """Record every stock write the fakes accept."""
    naver_handle, coupang_handle = naver.handle, coupang.handle

    def naver_watch(request: Any) -> Any:
        response = naver_handle(request)
        if request.method == "PUT" and request.path.endswith("/option-stock") and response.status < 300:
            body = json.loads(request.body)
            for combo in (body.get("optionInfo") or {}).get("optionCombinations") or []:
                receipts.add(f"naver:{combo['id']}", int(combo["stockQuantity"]))
        return response

    def coupang_watch(request: Any) -> Any:
        response = coupang_handle(request)
        parts = request.path.rstrip("/").split("/")
        if request.method == "PUT" and "quantities" in parts and response.status < 300:
            receipts.add(f"coupang:{parts[-3]}", int(parts[-1]))
        return response

    naver.handle, coupang.handle = naver_watch, coupang_watch


def start(kind: str, env: dict[str, str], workdir: str) -> subprocess.Popen[bytes]:
    celery = str(Path(sys.executable).with_name("celery"))
    if kind == "beat":
        args = [celery, "-A", "oms", "beat", "--loglevel=WARNING", "-s", f"{workdir}/beat-schedule"]
    else:
        args = [celery, "-A", "oms", "worker", "--concurrency=2", "--without-gossip", "--without-mingle"]
        args += ["--loglevel=WARNING", "-n", f"bench-push-{os.getpid()}@%h"]
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--skus", type=int, default=10)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("set DATABASE_URL=postgres://... (the bench makes its own database next to it)")
    bench_url = bench_database_url(url)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    from catalog.models import Product, Sku
    from channels.models import Listing
    from channels.services_accounts import channel_account_create
    from inventory.models import Location, StockDirty
    from inventory.selectors import available_map
    from inventory.services import stock_receive, stock_reserve
    from tests.fakes.coupang import FakeCoupang
    from tests.fakes.naver import FakeNaver

    receipts = Receipts()
    with FakeNaver() as naver, FakeCoupang() as coupang, tempfile.TemporaryDirectory() as workdir:
        watch(naver, coupang, receipts)
        warehouse = Location.objects.create(code="BENCH", name="벤치 창고", sells=True, priority=1)
        product = Product.objects.create(code="TEE", name="기본 반팔 티셔츠", sale_price=19900)
        skus = Sku.objects.bulk_create(
            [Sku(product=product, code=f"TEE-{n}", option_label=f"옵션 {n}") for n in range(args.skus)]
        )
        for sku in skus:
            stock_receive(sku=sku, location=warehouse, quantity=10_000, reason="bench")
        naver_account = channel_account_create(
            actor=None,
            marketplace="smartstore",
            name="벤치 스마트스토어",
            base_url=naver.api_url,
            credentials={"client_id": naver.client_id, "client_secret": naver.client_secret},
        )
        coupang_account = channel_account_create(
            actor=None,
            marketplace="coupang",
            name="벤치 쿠팡",
            base_url=coupang.api_url,
            credentials=coupang.credentials,
        )
        keys: dict[int, tuple[str, str]] = {}
        for n, sku in enumerate(skus):
            option, item = str(30000001 + n), str(70000000001 + n)
            Listing.objects.create(
                account=naver_account, external_product_id=NAVER_PRODUCT, external_option_id=option, sku=sku
            )
            Listing.objects.create(
                account=coupang_account, external_product_id=COUPANG_PRODUCT, external_option_id=item, sku=sku
            )
            keys[sku.pk] = (f"naver:{option}", f"coupang:{item}")

        env = {**os.environ, "DATABASE_URL": bench_url, "LOG_LEVEL": "WARNING"}
        beat, worker = start("beat", env, workdir), start("worker", env, workdir)
        try:
            # the first beat-driven push sends every listing its starting quantity
            deadline = time.monotonic() + 90
            while StockDirty.objects.exists() or len({k for _t, k, _q in receipts.rows}) < 2 * args.skus:
                if time.monotonic() > deadline:
                    sys.exit(
                        "the starting stock was not pushed within 90 s: are beat and the worker running?"
                    )
                for proc in (beat, worker):
                    if proc.poll() is not None:
                        sys.exit(
                            proc.stderr.read().decode(errors="replace")[-3000:] if proc.stderr else "died"
                        )
                time.sleep(0.5)
            print(f"starting stock pushed to {2 * args.skus} listings; measuring {args.changes} changes")
            time.sleep(5)  # let the first collections of the new accounts finish

            rng = random.Random(20261126)
            changes: list[tuple[float, int, int]] = []  # (commit time, sku id, available after)
            for i in range(args.changes):
                sku = rng.choice(skus)
                stock_reserve(reference=f"bench:{i}", lines=[(sku.pk, 1)])
                committed = time.monotonic()
                changes.append((committed, sku.pk, available_map([sku.pk])[sku.pk]))
                time.sleep(rng.uniform(0.2, 1.5))

            latencies: list[float] = []
            per_channel: dict[str, list[float]] = {"naver": [], "coupang": []}
            missing = 0
            deadline = time.monotonic() + 60
            for committed, sku_id, available in changes:
                arrived = []
                for key in keys[sku_id]:
                    account = naver_account if key.startswith("naver") else coupang_account
                    wanted = account.exposed_quantity(available)
                    at = None
                    while at is None and time.monotonic() < deadline:
                        at = receipts.first_at_or_below(key, wanted, committed)
                        if at is None:
                            time.sleep(0.2)
                    if at is None:
                        missing += 1
                        continue
                    per_channel[key.split(":")[0]].append(at - committed)
                    arrived.append(at - committed)
                if len(arrived) == 2:
                    latencies.append(max(arrived))
        finally:
            for proc in (beat, worker):
                proc.terminate()
            for proc in (beat, worker):
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()

        # the last value each channel received is the true exposed quantity
        final_ok = all(
            receipts.last(key)
            == (naver_account if key.startswith("naver") else coupang_account).exposed_quantity(
                available_map([sku_id])[sku_id]
            )
            for sku_id, pair in keys.items()
            for key in pair
        )

    print()
    for name, values in (
        ("Naver", per_channel["naver"]),
        ("Coupang", per_channel["coupang"]),
        ("both", latencies),
    ):
        if values:
            print(
                f"{name:8} n={len(values):3d}  p50 {statistics.median(values):5.2f} s  "
                f"p95 {percentile(values, 95):5.2f} s  max {max(values):5.2f} s"
            )
    print(f"changes not received within the wait: {missing}; last values right on both channels: {final_ok}")
    ok = latencies and len(latencies) == args.changes and percentile(latencies, 95) < 5 and final_ok
    print("goal met (p95 < 5 s)" if ok else "GOAL MISSED")


if __name__ == "__main__":
    main()
