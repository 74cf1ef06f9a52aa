from django.urls import path

from orders import views_matching as views

urlpatterns = [
    path("", views.matching_list_view, name="matching"),
    path("edit/", views.matching_edit_view, name="matching_edit"),
    path("save/", views.matching_save_view, name="matching_save"),
    path("skus/", views.matching_sku_search_view, name="matching_sku_search"),
    path("auto/", views.matching_auto_view, name="matching_auto"),
    path("mappings/", views.matching_mappings_view, name="matching_mappings"),
    path("mappings/<int:pk>/delete/", views.matching_mapping_delete_view, name="matching_mapping_delete"),
    path("backorders/", views.backorder_list_view, name="backorders"),
    path("backorders/reassign/", views.backorder_reassign_view, name="backorders_reassign"),
]
