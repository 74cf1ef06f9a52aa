"""The couriers of channel-specs.md (Naver/Coupang codes; 11st and ESM codes where known), put in
by migration 0002 and again after a flush (tests that truncate tables), when none are left."""

from __future__ import annotations

from typing import Any

COURIERS = [
    # code, name, lengths, tracking URL, other marketplaces' codes
    (
        "CJGLS",
        "CJ대한통운",
        "10,12",
        "https://trace.cjlogistics.com/next/tracking.html?wblNo={number}",
        {"11st": "00034", "gmarket": "10013", "auction": "10013"},
    ),
    (
        "HYUNDAI",
        "롯데택배",
        "10,12,13",
        "https://www.lotteglogis.com/home/reservation/tracking/linkView?InvNo={number}",
        {"11st": "00012", "gmarket": "10008", "auction": "10008"},
    ),
    (
        "HANJIN",
        "한진택배",
        "10,12",
        "https://www.hanjin.com/kor/CMS/DeliveryMgr/WaybillResult.do?mCode=MN038&schLang=KR&wblnumText2={number}",
        {"11st": "00011", "gmarket": "10007", "auction": "10007"},
    ),
    (
        "KGB",
        "로젠택배",
        "10,11",
        "https://www.ilogen.com/web/personal/trace/{number}",
        {"gmarket": "10003", "auction": "10003"},
    ),
    (
        "EPOST",
        "우체국택배",
        "13",
        "https://service.epost.go.kr/trace.RetrieveDomRigiTraceList.comm?sid1={number}",
        {"11st": "00007", "gmarket": "10005", "auction": "10005"},
    ),
    ("KDEXP", "경동택배", "8-16", "", {}),
    ("DAESIN", "대신택배", "13", "", {}),
    ("ILYANG", "일양로지스", "8-16", "", {}),
    ("HDEXP", "합동택배", "8-16", "", {}),
    ("CHUNIL", "천일택배", "11", "", {}),
    ("CUPARCEL", "CU 편의점택배", "", "", {}),
    ("CVSNET", "GS Postbox", "", "", {}),
]


def seed_couriers(courier_model: Any) -> None:
    """Create or update the seeded couriers; `courier_model` may be a migration's historical model."""
    for order, (code, name, lengths, url, codes) in enumerate(COURIERS):
        courier_model.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "tracking_lengths": lengths,
                "tracking_url": url,
                "marketplace_codes": codes,
                "sort_order": order * 10,
                "is_default": code == "CJGLS",
            },
        )


def seed_couriers_if_empty(**kwargs: Any) -> None:
    """post_migrate: a database whose courier table was emptied (flush) gets the seed back."""
    from shipping.models import Courier

    if not Courier.objects.exists():
        seed_couriers(Courier)
