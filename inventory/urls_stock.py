from django.urls import path

from inventory import views

urlpatterns = [
    path("", views.stock_list_view, name="stock_list"),
    path("low/", views.low_stock_view, name="low_stock"),
    path("sku/<int:pk>/", views.sku_stock_view, name="sku_stock"),
    path("sku/<int:pk>/receive/", views.stock_receive_view, name="stock_receive"),
    path("sku/<int:pk>/adjust/", views.stock_adjust_view, name="stock_adjust"),
    path("sku/<int:pk>/transfer/", views.stock_transfer_view, name="stock_transfer"),
    path("sku/<int:pk>/count/", views.stock_count_view, name="stock_count"),
    path("locations/", views.location_list_view, name="location_list"),
    path("locations/new/", views.location_create_view, name="location_create"),
    path("locations/<int:pk>/", views.location_edit_view, name="location_edit"),
]
