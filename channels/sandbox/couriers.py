"""The couriers the sandbox accepts, with Naver/Coupang's codes and tracking-number lengths
(../shared/channel-specs.md, "Couriers"). No check digit is documented for Korean couriers:
a tracking number is checked for digits and length only."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Courier:
    code: str
    name: str
    lengths: tuple[int, ...]  # allowed lengths; empty: any length from 8 to 16

    def accepts(self, tracking_number: str) -> bool:
        if not tracking_number.isascii() or not tracking_number.isdigit():
            return False
        if self.lengths:
            return len(tracking_number) in self.lengths
        return 8 <= len(tracking_number) <= 16

    @property
    def lengths_text(self) -> str:
        lengths = self.lengths or tuple(range(8, 17))
        if len(lengths) > 2 and lengths == tuple(range(lengths[0], lengths[-1] + 1)):
            return f"{lengths[0]}-{lengths[-1]}"
        return "/".join(str(n) for n in lengths)


COURIERS: dict[str, Courier] = {
    c.code: c
    for c in (
        Courier("CJGLS", "CJ대한통운", (10, 12)),
        Courier("HYUNDAI", "롯데택배", (10, 12, 13)),
        Courier("HANJIN", "한진택배", (10, 12)),
        Courier("KGB", "로젠택배", (10, 11)),
        Courier("EPOST", "우체국택배", (13,)),
        Courier("KDEXP", "경동택배", tuple(range(8, 17))),
        Courier("DAESIN", "대신택배", (13,)),
        Courier("ILYANG", "일양로지스", tuple(range(8, 17))),
        Courier("HDEXP", "합동택배", tuple(range(8, 17))),
        Courier("CHUNIL", "천일택배", (11,)),
        Courier("CUPARCEL", "CU 편의점택배", ()),
        Courier("CVSNET", "GS Postbox", ()),
    )
}
