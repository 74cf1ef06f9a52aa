from django.urls import path

from catalog import views

urlpatterns = [
    path("", views.product_list_view, name="product_list"),
    path("bulk/", views.product_bulk_view, name="product_bulk"),
    path("new/", views.product_create_view, name="product_create"),
    path("<int:pk>/", views.product_detail_view, name="product_detail"),
    path("<int:pk>/edit/", views.product_edit_view, name="product_edit"),
    path("<int:pk>/price/", views.product_price_view, name="product_price"),
    path("<int:pk>/status/", views.product_status_view, name="product_status"),
    path("<int:pk>/skus/new/", views.sku_add_view, name="sku_add"),
    path("skus/<int:pk>/", views.sku_update_view, name="sku_update"),
    path("skus/search/", views.sku_search_view, name="sku_search"),
    path("bundles/new/", views.bundle_create_view, name="bundle_create"),
    path("bundles/<int:pk>/", views.bundle_edit_view, name="bundle_edit"),
    path("bundles/component-row/", views.bundle_component_row_view, name="bundle_component_row"),
    path("bundles/sellable/", views.bundle_sellable_view, name="bundle_sellable"),
]
