"""Django's hello-world as ``django-admin startproject`` sets it up: its apps and middleware.

The same view as :mod:`strangler_bench.apps.hello_django`, behind the seven middleware (security,
sessions, common, CSRF, authentication, messages, clickjacking) every new Django project starts
with and most monoliths keep. Next to the bare app it separates what Django's defaults cost
from what a service adds on top of them. No request reaches the database.
"""

from strangler_bench.apps._django_hello import application_with

# django-admin startproject's settings.py (Django 5.2), in its order.
STARTPROJECT_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
STARTPROJECT_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

application = application_with(
    STARTPROJECT_MIDDLEWARE,
    STARTPROJECT_APPS,
    {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
)
