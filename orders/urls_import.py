from django.urls import path

from orders import views_import as views

urlpatterns = [
    path("", views.import_upload_view, name="import"),
    path("history/", views.import_list_view, name="import_list"),
    path("<int:pk>/", views.import_detail_view, name="import_detail"),
    path("<int:pk>/register/", views.import_commit_view, name="import_commit"),
    path("<int:pk>/cancel/", views.import_cancel_view, name="import_cancel"),
    path("<int:pk>/errors.xlsx", views.import_errors_view, name="import_errors"),
    path("profiles/", views.profile_list_view, name="import_profiles"),
    path("profiles/new/", views.profile_create_view, name="import_profile_create"),
    path("profiles/<int:pk>/", views.profile_edit_view, name="import_profile_edit"),
    path("profiles/<int:pk>/delete/", views.profile_delete_view, name="import_profile_delete"),
]
