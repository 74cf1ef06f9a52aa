"""Seed the couriers of channel-specs.md (Naver/Coupang codes; 11st and ESM codes where known)."""

from django.db import migrations

COURIERS = [
    # code, name, lengths, tracking URL, other marketplaces' codes
    ("CJGLS", "CJ대한통운", "10,12", "https://trace.cjlogistics.com/next/tracking.html?wblNo={number}",
     {"11st": "00034", "gmarket": "10013", "auction": "10013"}),
    ("HYUNDAI", "롯데택배", "10,12,13",
     "https://www.lotteglogis.com/home/reservation/tracking/linkView?InvNo={number}",
     {"11st": "00012", "gmarket": "10008", "auction": "10008"}),
    ("HANJIN", "한진택배", "10,12",
     "https://www.hanjin.com/kor/CMS/DeliveryMgr/WaybillResult.do?mCode=MN038&schLang=KR&wblnumText2={number}",
     {"11st": "00011", "gmarket": "10007", "auction": "10007"}),
    ("KGB", "로젠택배", "10,11", "https://www.ilogen.com/web/personal/trace/{number}",
     {"gmarket": "10003", "auction": "10003"}),
    ("EPOST", "우체국택배", "13",
     "https://service.epost.go.kr/trace.RetrieveDomRigiTraceList.comm?sid1={number}",
     {"11st": "00007", "gmarket": "10005", "auction": "10005"}),
    ("KDEXP", "경동택배", "8-16", "", {}),
    ("DAESIN", "대신택배", "13", "", {}),
    ("ILYANG", "일양로지스", "8-16", "", {}),
    ("HDEXP", "합동택배", "8-16", "", {}),
    ("CHUNIL", "천일택배", "11", "", {}),
    ("CUPARCEL", "CU 편의점택배", "", "", {}),
    ("CVSNET", "GS Postbox", "", "", {}),
]


def seed(apps, schema_editor):
    Courier = apps.get_model("shipping", "Courier")
    for order, (code, name, lengths, url, codes) in enumerate(COURIERS):
        Courier.objects.update_or_create(
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


class Migration(migrations.Migration):
    dependencies = [("shipping", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
