"""Code 128 barcodes as inline SVG (python-barcode): the 출고번호 on packing slips, read back by the
USB scanners at the packing table."""

from __future__ import annotations

import logging
import re

# python-barcode logs "Pillow not found" at INFO on import; SVG needs no Pillow.
logging.getLogger("pyBarcode").setLevel(logging.WARNING)

from barcode import Code128  # noqa: E402
from barcode.writer import SVGWriter  # noqa: E402
from django.utils.html import escape  # noqa: E402
from django.utils.safestring import SafeString, mark_safe  # noqa: E402

# 0.33 mm modules: wide enough for the cheap 1D scanners sellers use, about 45 mm for 출고번호.
_OPTIONS = {"write_text": False, "module_width": 0.33, "module_height": 14.0, "quiet_zone": 3.0}
_PROLOG = re.compile(rb"^.*?(?=<svg)", re.DOTALL)
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)


def code128_svg(text: str, *, label: str = "") -> SafeString:
    """An <svg> element drawing `text` as Code 128, ready to inline in HTML."""
    raw = Code128(text, writer=SVGWriter()).render(writer_options=_OPTIONS)
    svg = _COMMENT.sub(b"", _PROLOG.sub(b"", raw, count=1)).replace(b' id="barcode_group"', b"")
    aria = f' role="img" aria-label="{escape(label or text)}" class="barcode" data-barcode="{escape(text)}"'
    return mark_safe(svg.decode().replace("<svg ", f"<svg{aria} ", 1))  # noqa: S308 - our own writer's markup
