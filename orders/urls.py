from django.urls import include, path

app_name = "orders"

urlpatterns = [
    path("", include("orders.urls_orders")),
    path("matching/", include("orders.urls_matching")),
    path("import/", include("orders.urls_import")),
]
