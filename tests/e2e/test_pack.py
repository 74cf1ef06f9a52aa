"""Staff at the packing table in headless Chromium, with a USB scanner (keyboard input ending in
Enter): scan the slip's 출고번호, scan a wrong item (red banner, nothing counted), scan the box's
items (one by barcode, two with the count shortcut), and the box turns 검수완료."""

from __future__ import annotations

import pytest

from oms.roles import Role
from shipping.models import ShipmentStatus
from tests.catalog.factories import make_bundle
from tests.channels.factories import ChannelAccountFactory
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import screenshot
from tests.orders.builders import channel_line, channel_order
from tests.shipping.factories import ingest_orders, shipment_of, stocked_sku

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def scan(page, code: str) -> None:
    """What a USB scanner does: types the code where the focus is, then Enter."""
    page.keyboard.type(code, delay=5)
    page.keyboard.press("Enter")


def test_staff_scans_a_box_and_its_items_until_it_is_packed(page, live_server, make_user) -> None:
    make_user(Role.STAFF, username="packer", last_name="박", first_name="포장")
    sweater = stocked_sku("KNIT-BK-S", barcode="8800000000011", option_label="블랙 / S")
    socks = stocked_sku("SOCK-GR", barcode="8800000000028")
    stocked_sku("CAP-RED", barcode="8800000000035")
    make_bundle([(sweater, 1), (socks, 2)], code="SET-GIFT")
    (order,) = ingest_orders(
        ChannelAccountFactory.create(), [channel_order(channel_line(codes=("SET-GIFT",)))]
    )
    box = shipment_of(list(order.lines.all()))
    base = live_server.url

    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "packer")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/shipping/pack/")
    assert page.evaluate("document.activeElement.id") == "pack-code"

    # The slip's barcode opens the box: the bundle is opened into its components.
    scan(page, box.number)
    page.wait_for_selector(f'#pack-panel[data-box="{box.number}"]')
    page.wait_for_url(f"**/shipping/pack/{box.pk}/")
    assert page.locator("#pack-panel tbody tr").count() == 2
    assert page.locator('tr[data-sku="SOCK-GR"]').get_attribute("data-needed") == "2"

    # A cap does not belong here: refused loudly, nothing counted, the input keeps the focus.
    scan(page, "8800000000035")
    banner = page.locator('#pack-panel[data-result="refused"] .pack-banner')
    banner.wait_for()
    assert "잘못된 상품" in banner.inner_text() and "CAP-RED" in banner.inner_text()
    screenshot(page, "pack-refused")
    assert page.locator("#pack-panel [data-scanned]").first.inner_text() == "0"
    assert page.evaluate("document.activeElement.id") == "pack-code"

    # The sweater by barcode, then both socks at once with the count shortcut.
    scan(page, "8800000000011")
    page.wait_for_selector('tr[data-sku="KNIT-BK-S"][data-scanned="1"].done')
    page.fill("#pack-count", "2")
    page.press("#pack-count", "Enter")  # the count is set; the focus goes back to the scan input
    assert page.evaluate("document.activeElement.id") == "pack-code"
    scan(page, "8800000000028")
    page.wait_for_selector('#pack-panel[data-result="packed"]')
    assert "검수완료" in page.locator(".pack-banner").inner_text()
    screenshot(page, "pack-packed")

    box.refresh_from_db()
    assert box.status == ShipmentStatus.PACKED
    assert box.pack_progress == {str(sweater.pk): 1, str(socks.pk): 2}
    assert box.packed_by is not None and box.packed_by.username == "packer"
