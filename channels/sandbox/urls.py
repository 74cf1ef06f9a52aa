"""/sandbox/: the page (login, managers and admins) and the JSON API (token auth).

The URLs are always mounted, so the permissions matrix sees one set of URLs; the API answers
404 while settings.OMS_SANDBOX_ENABLED is off, checked on every request."""

from django.urls import path

from channels.sandbox import api, views

app_name = "sandbox"

urlpatterns = [
    path("", views.sandbox_page_view, name="page"),
    path("orders/new/", views.sandbox_generate_view, name="generate"),
    path("keys/new/", views.sandbox_key_issue_view, name="key_issue"),
    path("keys/<int:pk>/revoke/", views.sandbox_key_revoke_view, name="key_revoke"),
    path("api/auth", api.auth_view, name="api_auth"),
    path("api/couriers", api.couriers_view, name="api_couriers"),
    path("api/orders", api.orders_view, name="api_orders"),
    path("api/orders/confirm", api.confirm_view, name="api_confirm"),
    path("api/orders/dispatch", api.dispatch_view, name="api_dispatch"),
    path("api/stock", api.stock_view, name="api_stock"),
    path("api/products", api.products_view, name="api_products"),
]
