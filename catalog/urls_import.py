from django.urls import path

from catalog import views_import as views

urlpatterns = [
    path("", views.product_import_view, name="product_import"),
    path("template/", views.product_import_template_view, name="product_import_template"),
    path("export/", views.product_import_export_view, name="product_import_export"),
    path("<int:pk>/", views.product_import_detail_view, name="product_import_detail"),
    path("<int:pk>/commit/", views.product_import_commit_view, name="product_import_commit"),
    path("<int:pk>/cancel/", views.product_import_cancel_view, name="product_import_cancel"),
    path("<int:pk>/errors/", views.product_import_errors_view, name="product_import_errors"),
]
