"""Demo data for the embedded default: one user per role and a small demo company.

Idempotent: running it again leaves existing rows as they are (passwords are reset to the
printed demo ones so the README's logins always work). Later issues extend it."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from catalog.demo import load_demo as load_catalog_demo
from channels.sandbox_demo import sandbox_demo_load
from oms.models import Company, User
from oms.roles import Role, sync_roles
from oms.services import company_update, user_create, user_reset_password
from orders.demo import orders_demo_load
from shipping.demo import shipping_demo_load

DEMO_USERS = [
    ("admin", "oms-admin-2026", Role.ADMIN, "김", "관리"),
    ("manager", "oms-manager-2026", Role.MANAGER, "이", "운영"),
    ("staff", "oms-staff-2026", Role.STAFF, "박", "작업"),
]

DEMO_COMPANY = {
    "name": "데모상회",
    "business_number": "123-45-67890",
    "representative": "김대표",
    "phone": "02-1234-5678",
    "email": "cs@demo-sanghoe.example",
    "zip_code": "04524",
    "address": "서울특별시 중구 세종대로 110 데모빌딩 3층",
    "return_zip_code": "10881",
    "return_address": "경기도 파주시 회동길 123 데모물류센터",
}


class Command(BaseCommand):
    help = "Load the demo users (one per role) and the demo company."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        sync_roles()
        admin = None
        for username, password, role, last_name, first_name in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = user_create(
                    actor=admin,
                    username=username,
                    password=password,
                    role=role,
                    first_name=first_name,
                    last_name=last_name,
                    email=f"{username}@demo-sanghoe.example",
                )
            elif not user.check_password(password):
                user_reset_password(actor=admin, user=user, password=password)
            if role is Role.ADMIN:
                admin = user
        if not Company.objects.filter(pk=1).exists():
            company_update(actor=admin, values=DEMO_COMPANY)
        catalog = load_catalog_demo(actor=admin)
        self.stdout.write("demo data ready: users admin / manager / staff, company 데모상회")
        self.stdout.write(str(catalog))
        self.stdout.write(orders_demo_load(actor=admin).summary())
        self.stdout.write(shipping_demo_load(actor=admin).summary())
        self.stdout.write(sandbox_demo_load(actor=admin).summary())
