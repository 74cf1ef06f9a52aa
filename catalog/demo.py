"""Demo catalogue for the embedded default: about 30 products and 120 SKUs a small Korean
fashion-and-living shop would sell, two selling locations, opening stock, a few bundles
(세트상품), and some SKUs low on stock or sold out.

Everything goes through the services (audited, as a seller would have done it), and
load_demo is idempotent: products that exist are left alone, and opening stock is received
only where no opening receipt was booked before."""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import transaction

from catalog.models import Product, Sku
from catalog.services import ProductDraft, SkuDraft, bundle_create, option_matrix, product_create, sku_update
from inventory.models import Location, StockMovement
from inventory.services import stock_receive
from oms.models import User

OPENING_REFERENCE = "demo:opening"

LOCATIONS = [
    # code, name, kind, priority
    ("HQ", "본사 창고", Location.Kind.WAREHOUSE, 1),
    ("STORE", "성수 매장", Location.Kind.STORE, 2),
]

COLOR = "색상"
SIZE = "사이즈"

# code, name, brand, category, price, cost, [(option name, [values])], {value: extra price}
PRODUCTS: list[tuple[str, str, str, str, int, int, list[tuple[str, list[str]]], dict[str, int]]] = [
    (
        "DM-KN01",
        "울 라운드 니트",
        "데모상회",
        "의류>니트",
        39000,
        15000,
        [(COLOR, ["블랙", "아이보리"]), (SIZE, ["S", "M", "L"])],
        {},
    ),
    (
        "DM-KN02",
        "캐시미어 브이넥 니트",
        "데모상회",
        "의류>니트",
        89000,
        38000,
        [(COLOR, ["그레이", "베이지"]), (SIZE, ["M", "L"])],
        {},
    ),
    (
        "DM-KN03",
        "케이블 가디건",
        "포레스트",
        "의류>니트",
        59000,
        24000,
        [(COLOR, ["아이보리", "차콜"]), (SIZE, ["FREE"])],
        {},
    ),
    (
        "DM-TS01",
        "오버핏 코튼 티셔츠",
        "데모상회",
        "의류>티셔츠",
        19900,
        6500,
        [(COLOR, ["화이트", "블랙", "네이비"]), (SIZE, ["M", "L", "XL"])],
        {"XL": 2000},
    ),
    (
        "DM-TS02",
        "스트라이프 긴팔 티셔츠",
        "마린데이",
        "의류>티셔츠",
        25900,
        9000,
        [(COLOR, ["네이비", "레드"]), (SIZE, ["S", "M", "L"])],
        {},
    ),
    (
        "DM-TS03",
        "베이직 반팔 티셔츠",
        "데모상회",
        "의류>티셔츠",
        12900,
        4200,
        [(COLOR, ["화이트", "블랙", "그레이", "베이지"]), (SIZE, ["FREE"])],
        {},
    ),
    (
        "DM-SL01",
        "와이드 슬랙스",
        "데모상회",
        "의류>바지",
        45000,
        17000,
        [(COLOR, ["블랙", "베이지"]), (SIZE, ["S", "M", "L"])],
        {},
    ),
    (
        "DM-SL02",
        "세미 부츠컷 슬랙스",
        "포레스트",
        "의류>바지",
        49000,
        19000,
        [(COLOR, ["차콜", "블랙"]), (SIZE, ["26", "27", "28", "29"])],
        {},
    ),
    (
        "DM-DN01",
        "스트레이트 데님 팬츠",
        "블루잭",
        "의류>바지",
        52000,
        21000,
        [(COLOR, ["연청", "진청"]), (SIZE, ["26", "28", "30"])],
        {},
    ),
    (
        "DM-OP01",
        "플라워 롱 원피스",
        "데모상회",
        "의류>원피스",
        69000,
        26000,
        [(COLOR, ["블루", "핑크"]), (SIZE, ["S", "M"])],
        {},
    ),
    (
        "DM-OP02",
        "린넨 셔츠 원피스",
        "포레스트",
        "의류>원피스",
        79000,
        31000,
        [(COLOR, ["베이지", "화이트"]), (SIZE, ["FREE"])],
        {},
    ),
    (
        "DM-SH01",
        "옥스포드 셔츠",
        "데모상회",
        "의류>셔츠",
        39000,
        14000,
        [(COLOR, ["화이트", "블루"]), (SIZE, ["M", "L", "XL"])],
        {"XL": 2000},
    ),
    (
        "DM-HD01",
        "기모 후드 집업",
        "블루잭",
        "의류>아우터",
        59000,
        22000,
        [(COLOR, ["그레이", "블랙", "네이비"]), (SIZE, ["M", "L"])],
        {},
    ),
    (
        "DM-CT01",
        "울 블렌드 싱글 코트",
        "포레스트",
        "의류>아우터",
        189000,
        82000,
        [(COLOR, ["카멜", "블랙"]), (SIZE, ["M", "L"])],
        {},
    ),
    (
        "DM-SK01",
        "플리츠 미디 스커트",
        "데모상회",
        "의류>스커트",
        42000,
        16000,
        [(COLOR, ["블랙", "베이지"]), (SIZE, ["S", "M"])],
        {},
    ),
    (
        "DM-PJ01",
        "면 파자마 세트",
        "데모상회",
        "의류>홈웨어",
        35000,
        13000,
        [(COLOR, ["핑크", "블루"]), (SIZE, ["M", "L"])],
        {},
    ),
    (
        "DM-SO01",
        "데일리 양말 5족",
        "데모상회",
        "잡화>양말",
        9900,
        3000,
        [(COLOR, ["블랙", "화이트", "혼합"])],
        {},
    ),
    (
        "DM-SN01",
        "캔버스 스니커즈",
        "블루잭",
        "잡화>신발",
        49000,
        20000,
        [(COLOR, ["화이트", "블랙"]), (SIZE, ["230", "240", "250", "260"])],
        {},
    ),
    (
        "DM-CAP01",
        "워싱 볼캡",
        "마린데이",
        "잡화>모자",
        22000,
        7000,
        [(COLOR, ["블랙", "베이지", "네이비"])],
        {},
    ),
    (
        "DM-SC01",
        "울 머플러",
        "포레스트",
        "잡화>머플러",
        32000,
        11000,
        [(COLOR, ["그레이", "카멜", "와인"])],
        {},
    ),
    ("DM-BG01", "캔버스 에코백", "데모상회", "잡화>가방", 18000, 5500, [(COLOR, ["아이보리", "블랙"])], {}),
    (
        "DM-MG01",
        "스톤웨어 머그컵 350ml",
        "데모리빙",
        "리빙>주방",
        15000,
        5000,
        [(COLOR, ["화이트", "그린", "베이지"])],
        {},
    ),
    ("DM-MG02", "도트 머그컵", "데모리빙", "리빙>주방", 12000, 4000, [(COLOR, ["네이비", "레드"])], {}),
    (
        "DM-TB01",
        "유리 텀블러 500ml",
        "데모리빙",
        "리빙>주방",
        16000,
        5200,
        [(COLOR, ["클리어", "스모크"])],
        {},
    ),
    (
        "DM-PL01",
        "세라믹 접시",
        "데모리빙",
        "리빙>주방",
        14000,
        4500,
        [(SIZE, ["대", "중", "소"])],
        {"대": 4000, "소": -3000},
    ),
    (
        "DM-CU01",
        "코튼 쿠션커버 45x45",
        "데모리빙",
        "리빙>패브릭",
        16000,
        5000,
        [(COLOR, ["아이보리", "그레이", "민트"])],
        {},
    ),
    ("DM-TW01", "호텔 수건 40수", "데모리빙", "리빙>욕실", 8900, 2800, [(COLOR, ["화이트", "그레이"])], {}),
    (
        "DM-CN01",
        "소이 캔들 200g",
        "데모리빙",
        "리빙>향",
        24000,
        7800,
        [("향", ["라벤더", "우디", "시트러스"])],
        {},
    ),
    ("DM-DF01", "리드 디퓨저 200ml", "데모리빙", "리빙>향", 28000, 9000, [], {}),
]

# bundle product code, name, category, price, [(component SKU code, quantity)]
BUNDLES: list[tuple[str, str, str, int, list[tuple[str, int]]]] = [
    ("DM-SET01", "스톤웨어 머그컵 2개 세트", "리빙>주방", 27000, [("DM-MG01-WH", 2)]),
    (
        "DM-SET02",
        "베이직 반팔 티셔츠 3장 세트",
        "의류>티셔츠",
        34900,
        [("DM-TS03-WH-F", 1), ("DM-TS03-BK-F", 1), ("DM-TS03-GY-F", 1)],
    ),
    ("DM-SET03", "캔들 디퓨저 선물세트", "리빙>향", 46000, [("DM-CN01-LV", 1), ("DM-DF01", 1)]),
]

# SKUs that open sold out (nothing received) or low (a handful, at or below the threshold).
SOLD_OUT = {"DM-KN01-BK-S", "DM-TS01-NV-XL", "DM-CT01-CM-L", "DM-MG02-RD", "DM-SN01-BK-230", "DM-TS03-GY-F"}
LOW = {"DM-KN01-IV-M", "DM-OP01-PK-S", "DM-HD01-GY-L", "DM-CN01-LV", "DM-SC01-WN", "DM-DN01-LBL-26"}
DISCONTINUED = {"DM-CT01-CM-L"}


@dataclass(frozen=True)
class DemoSummary:
    products_created: int
    skus_created: int
    bundles_created: int
    receipts: int

    def __str__(self) -> str:
        return (
            f"catalog: {self.products_created} products / {self.skus_created} SKUs / "
            f"{self.bundles_created} bundles created, {self.receipts} opening receipts"
        )


def _ean13(n: int) -> str:
    """A valid EAN-13 under the Korean 880 prefix, stable per SKU."""
    body = f"880{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _locations() -> list[Location]:
    out = []
    for code, name, kind, priority in LOCATIONS:
        location, _created = Location.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "priority": priority, "sells": True}
        )
        out.append(location)
    return out


def _create_products(actor: User | None) -> tuple[int, int]:
    products = skus = 0
    barcode_no = 1000
    for code, name, brand, category, price, cost, axes, extras in PRODUCTS:
        barcode_no += 10
        if Product.objects.filter(code=code).exists():
            continue
        rows = option_matrix(product_code=code, axes=axes)
        drafts = []
        for i, row in enumerate(rows):
            sku_code = row.suggested_code
            values = row.option_values([n for n, _v in axes])
            drafts.append(
                SkuDraft(
                    code=sku_code,
                    option_values=values,
                    option_label=row.option_label,
                    extra_price=sum(extras.get(v, 0) for v in row.values),
                    barcode=_ean13(barcode_no + i),
                    cost=cost,
                    safety_stock=1 if category.startswith("의류") else 0,
                    low_stock_threshold=5 if category.startswith("의류") else 3,
                )
            )
        draft = ProductDraft(
            code=code,
            name=name,
            brand=brand,
            category=category,
            sale_price=price,
            cost=cost,
            description=f"{name} - 데모 상품입니다.",
            option_names=[n for n, _v in axes],
        )
        product_create(actor=actor, draft=draft, skus=drafts)
        for sku in Sku.objects.filter(product__code=code, code__in=DISCONTINUED):
            sku_update(actor=actor, sku=sku, values={"status": Product.Status.DISCONTINUED})
        products += 1
        skus += len(drafts)
    return products, skus


def _create_bundles(actor: User | None) -> int:
    created = 0
    for code, name, category, price, items in BUNDLES:
        if Product.objects.filter(code=code).exists():
            continue
        components = [(Sku.objects.get(code=c), q) for c, q in items]
        bundle_create(
            actor=actor,
            product=ProductDraft(code=code, name=name, brand="데모상회", category=category, sale_price=price),
            draft=SkuDraft(code=code, option_label="세트"),
            components=components,
        )
        created += 1
    return created


def _opening_quantity(rng: random.Random, code: str, location_index: int) -> int:
    if code in SOLD_OUT:
        return 0
    if code in LOW:
        # Safety stock 1 and threshold 5: 2-4 in the warehouse leaves 1-3 available.
        return rng.randint(2, 4) if location_index == 0 else 0
    return rng.randint(12, 60) if location_index == 0 else rng.randint(0, 12)


def _receive_opening_stock(actor: User | None, locations: list[Location]) -> int:
    rng = random.Random(2026)  # demo figures, the same on every machine
    booked = set(
        StockMovement.objects.filter(reference=OPENING_REFERENCE).values_list("sku_id", "location_id")
    )
    receipts = 0
    demo_skus = Sku.objects.filter(kind=Sku.Kind.SINGLE, product__code__startswith="DM-").order_by("pk")
    for sku in demo_skus:
        for index, location in enumerate(locations):
            quantity = _opening_quantity(rng, sku.code, index)
            if quantity <= 0 or (sku.pk, location.pk) in booked:
                continue
            stock_receive(
                sku=sku,
                location=location,
                quantity=quantity,
                reason="데모 기초 재고",
                reference=OPENING_REFERENCE,
                actor=actor,
            )
            receipts += 1
    return receipts


@transaction.atomic
def load_demo(*, actor: User | None = None) -> DemoSummary:
    """Load the demo catalogue and its opening stock; running it again changes nothing."""
    locations = _locations()
    products, skus = _create_products(actor)
    bundles = _create_bundles(actor)
    receipts = _receive_opening_stock(actor, locations)
    return DemoSummary(
        products_created=products, skus_created=skus, bundles_created=bundles, receipts=receipts
    )
