from django.urls import path

from inventory import views_import as views

urlpatterns = [
    path("", views.stock_import_view, name="stock_import"),
    path("template/", views.stock_import_template_view, name="stock_import_template"),
    path("export/", views.stock_import_export_view, name="stock_import_export"),
    path("<int:pk>/", views.stock_import_detail_view, name="stock_import_detail"),
    path("<int:pk>/commit/", views.stock_import_commit_view, name="stock_import_commit"),
    path("<int:pk>/cancel/", views.stock_import_cancel_view, name="stock_import_cancel"),
    path("<int:pk>/errors/", views.stock_import_errors_view, name="stock_import_errors"),
]
