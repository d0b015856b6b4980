"""The faults app's internal URLs (mounted under ``/internal/``)."""

from django.urls import URLPattern, path

from core.faults import views

urlpatterns: list[URLPattern] = [
    path("faults", views.faults, name="faults"),
]
