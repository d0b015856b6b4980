"""Settings for the test suite: an in-memory database, fast hashing, no outside calls."""

from core.config.settings.base import *  # noqa: F403

SECRET_KEY = "django-insecure-test-only-key"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

# pytest-django creates the test database in memory for SQLite whatever the file name.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# As on the local stack: static files from the apps' folders, no collectstatic.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

RAG_BASE_URL = "http://127.0.0.1:9"
CORE_RAG_TIMEOUT_SECONDS = 2.0
# Nothing listens on the discard port: a test that calls rag over gRPC points this at its own.
CORE_RAG_GRPC_TARGET = "127.0.0.1:9"
CORE_CHAT_PROVIDER = "extractive"
CORE_CHAT_OPENAI_API_KEY = ""
STRIPE_WEBHOOK_SECRET = "whsec_test_secret_for_the_legacy_view"  # noqa: S105
CORE_ADMIN_PASSWORD = ""
IDENTITY_SECRET = b"test-identity-secret-0123456789abcdefghijklmnop"
