from django.urls import include, path

app_name = "catalog"

urlpatterns = [
    path("", include("catalog.urls_products")),
    path("import/", include("catalog.urls_import")),
]
