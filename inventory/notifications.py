"""The daily 재고 부족 e-mail to managers and administrators (sent by inventory.tasks)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from inventory.selectors import LOW_STOCK_ORDER, low_stock_counts, low_stock_list, low_stock_recipients
from oms.models import Company

# The e-mail lists the emptiest SKUs first and links to the full list for the rest.
EMAIL_ROW_LIMIT = 200


def low_stock_email_send() -> int:
    """E-mail the 재고 부족 list to every active manager and administrator with an address,
    one message each. Returns how many were sent: none when the e-mail is switched off
    (settings.OMS_LOW_STOCK_EMAIL), when nothing is low, or when nobody has an address."""
    if not settings.OMS_LOW_STOCK_EMAIL:
        return 0
    recipients = list(low_stock_recipients().values_list("email", flat=True))
    if not recipients:
        return 0
    counts = low_stock_counts()
    if counts.total == 0:
        return 0
    skus = list(low_stock_list(filters={}).order_by(*LOW_STOCK_ORDER)[:EMAIL_ROW_LIMIT])
    base_url = getattr(settings, "OMS_BASE_URL", "").rstrip("/")
    company = Company.objects.filter(pk=1).values_list("name", flat=True).first() or ""
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "counts": counts,
            "skus": skus,
            "more": counts.total - len(skus),
            "company": company,
            "today": timezone.localdate(),
            "list_url": f"{base_url}{reverse('inventory:low_stock')}" if base_url else "",
            "base_url": base_url,
        }
        subject = " ".join(render_to_string("inventory/email/low_stock_subject.txt", context).split())
        text = render_to_string("inventory/email/low_stock.txt", context)
        html = render_to_string("inventory/email/low_stock.html", context)
    messages = []
    for address in recipients:
        message = EmailMultiAlternatives(subject=subject, body=text, to=[address])
        message.attach_alternative(html, "text/html")
        messages.append(message)
    return get_connection().send_messages(messages) or 0
