from django.urls import include, path

app_name = "inventory"

urlpatterns = [
    path("", include("inventory.urls_stock")),
    path("import/", include("inventory.urls_import")),
]
