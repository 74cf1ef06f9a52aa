from django.urls import path

from orders import views

urlpatterns = [
    path("", views.order_list_view, name="order_list"),
    path("bulk/", views.order_bulk_view, name="order_bulk"),
    path("export/", views.order_export_view, name="order_export"),
    path("new/", views.order_create_view, name="order_create"),
    path("new/skus/", views.sku_search_view, name="sku_search"),
    path("<int:pk>/", views.order_detail_view, name="order_detail"),
    path("<int:pk>/memo/", views.order_memo_view, name="order_memo"),
    path("lines/<int:pk>/confirm/", views.line_confirm_view, name="line_confirm"),
    path("lines/<int:pk>/hold/", views.line_hold_view, name="line_hold"),
    path("lines/<int:pk>/unhold/", views.line_unhold_view, name="line_unhold"),
    path("lines/<int:pk>/cancel/", views.line_cancel_view, name="line_cancel"),
]
