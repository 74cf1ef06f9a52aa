"""The daily 재고 부족 e-mail: who gets it, what it says, and when it stays quiet."""

from __future__ import annotations

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives

from inventory import notifications
from inventory.services import stock_receive
from inventory.tasks import low_stock_email_task
from oms.models import Company
from oms.roles import Role
from tests.catalog.factories import ProductFactory, SkuFactory
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db


def html_of(message: EmailMessage) -> str:
    assert isinstance(message, EmailMultiAlternatives)
    content, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    return str(content)


@pytest.fixture
def people(make_user):
    return {
        "manager": make_user(Role.MANAGER, email="mgr@demo.example"),
        "admin": make_user(Role.ADMIN, email="boss@demo.example"),
        "staff": make_user(Role.STAFF, email="packer@demo.example"),
        "no_address": make_user(Role.MANAGER),
    }


@pytest.fixture
def short_stock():
    warehouse = LocationFactory.create()
    knit = ProductFactory.create(name="울 라운드 니트")
    out = SkuFactory.create(product=knit, code="KNIT-BK-S", option_label="블랙 / S", low_stock_threshold=2)
    low = SkuFactory.create(
        product=knit, code="KNIT-IV-M", option_label="아이보리 / M", low_stock_threshold=5
    )
    fine = SkuFactory.create(product=knit, code="KNIT-NV-L", low_stock_threshold=5)
    stock_receive(sku=low, location=warehouse, quantity=4)
    stock_receive(sku=fine, location=warehouse, quantity=40)
    return out, low, fine


def test_managers_and_admins_with_an_address_each_get_the_list(people, short_stock) -> None:
    Company.objects.create(pk=1, name="데모상회")

    sent = low_stock_email_task()

    assert sent == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["boss@demo.example", "mgr@demo.example"]
    assert all(len(m.to) == 1 for m in mail.outbox)
    message = mail.outbox[0]
    assert message.subject.startswith("[데모상회]")
    body = message.body
    assert "KNIT-BK-S" in body and "KNIT-IV-M" in body
    assert "KNIT-NV-L" not in body
    # emptiest first, with what is available and the threshold
    assert body.index("KNIT-BK-S") < body.index("KNIT-IV-M")
    assert "KNIT-IV-M | 울 라운드 니트 아이보리 / M |" in body
    line = next(ln for ln in body.splitlines() if "KNIT-IV-M" in ln)
    assert " 4 " in line and " 5 " in line
    html = html_of(message)
    assert "KNIT-BK-S" in html and "울 라운드 니트" in html


def test_subject_counts_sold_out_and_low(people, short_stock, settings) -> None:
    settings.LANGUAGE_CODE = "en"  # the English msgids, whatever the Korean catalog says
    low_stock_email_task()
    subject = mail.outbox[0].subject
    assert subject.startswith("Low stock: 2 SKUs (1 sold out, 1 low), ")


def test_links_point_at_the_site_when_its_address_is_set(people, short_stock, settings) -> None:
    settings.OMS_BASE_URL = "https://oms.demo.example/"
    low_stock_email_task()
    assert "https://oms.demo.example/stock/low/" in mail.outbox[0].body
    html = html_of(mail.outbox[0])
    assert f"https://oms.demo.example/stock/sku/{short_stock[0].pk}/" in html


def test_nothing_is_sent_when_nothing_is_low(people) -> None:
    stock_receive(sku=SkuFactory.create(low_stock_threshold=1), location=LocationFactory.create(), quantity=5)
    assert low_stock_email_task() == 0
    assert mail.outbox == []


def test_nothing_is_sent_when_switched_off(people, short_stock, settings) -> None:
    settings.OMS_LOW_STOCK_EMAIL = False
    assert low_stock_email_task() == 0
    assert mail.outbox == []


def test_nothing_is_sent_when_no_manager_has_an_address(make_user, short_stock) -> None:
    make_user(Role.MANAGER)
    make_user(Role.STAFF, email="packer@demo.example")
    assert low_stock_email_task() == 0
    assert mail.outbox == []


def test_a_long_list_is_cut_and_says_how_many_more(people, monkeypatch, settings) -> None:
    settings.LANGUAGE_CODE = "en"
    monkeypatch.setattr(notifications, "EMAIL_ROW_LIMIT", 3)
    for i in range(5):
        SkuFactory.create(code=f"OUT-{i}")
    low_stock_email_task()
    body = mail.outbox[0].body
    assert [ln.split(" | ")[0] for ln in body.splitlines() if "OUT-" in ln] == [
        "- OUT-0",
        "- OUT-1",
        "- OUT-2",
    ]
    assert "... and 2 more SKUs." in body


def test_beat_sends_it_every_morning_at_half_past_eight_seoul_time() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["low-stock"]
    assert entry["task"] == "inventory.tasks.low_stock_email_task"
    assert entry["schedule"] == crontab(hour=8, minute=30)
    assert settings.CELERY_TIMEZONE == "Asia/Seoul"
    assert settings.OMS_LOW_STOCK_EMAIL is True
