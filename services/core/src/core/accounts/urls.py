"""The accounts app's internal URLs (mounted under ``/internal/``)."""

from django.urls import URLPattern, path

from core.accounts import views

urlpatterns: list[URLPattern] = [
    path("auth/session", views.read_session, name="auth-session"),
]
