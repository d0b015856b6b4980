"""Settings shared by every environment; each environment variable is documented where it is read.

The environment modules (local, test, production) import everything from here and adjust.
"""

from pathlib import Path
from typing import Any

import dj_database_url

from core.config.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
    identity_secret_from_env,
)

# services/core/ — the service's directory in the source tree.
SERVICE_DIR = Path(__file__).resolve().parents[4]

# DJANGO_SECRET_KEY: signing key for sessions and CSRF. Required in production; the local and
# test settings fall back to a development-only value.
SECRET_KEY = env_str("DJANGO_SECRET_KEY")

# DJANGO_DEBUG: Django's debug mode (technical error pages, static files served by Django).
DEBUG = env_bool("DJANGO_DEBUG", False)

# DJANGO_ALLOWED_HOSTS: comma-separated host names this process answers for.
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

# DJANGO_CSRF_TRUSTED_ORIGINS: comma-separated origins allowed to POST to the admin (behind the
# gateway, e.g. http://127.0.0.1:8080).
CSRF_TRUSTED_ORIGINS = env_list(
    "DJANGO_CSRF_TRUSTED_ORIGINS", ["http://127.0.0.1:8080", "http://localhost:8080"]
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "core.accounts",
    "core.customers",
    "core.billing",
    "core.knowledge",
    "core.seeding",
    "core.grpc",
    "core.faults",
]

MIDDLEWARE = [
    "core.config.middleware.ServiceHeaderMiddleware",
    "core.config.middleware.ErrorEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's, Django Ninja's Swagger UI) from the app server itself, with DEBUG
    # off too: the project serves every page's assets locally, never from a CDN.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Django's MessageMiddleware, building the message store only when the admin uses it.
    "core.config.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost, next to the views: legacy noise, only while a drill sets it (core.faults).
    "core.faults.middleware.LegacyNoiseMiddleware",
]

ROOT_URLCONF = "core.config.urls"
WSGI_APPLICATION = "core.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _sqlite_options() -> dict[str, Any]:
    # Gunicorn workers and the gRPC server's threads write to one SQLite file: WAL lets readers
    # run beside the writer, IMMEDIATE takes the write lock up front instead of failing on upgrade.
    return {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }


def database_from_env() -> dict[str, Any]:
    """Return the default database from DATABASE_URL, or the service's SQLite file."""
    # DATABASE_URL: e.g. postgres://user:pass@127.0.0.1:5432/core or sqlite:////abs/path.sqlite3.
    # DJANGO_CONN_MAX_AGE: seconds a thread reuses its connection (default 60; 0 = one per
    # request). Opening one per request cost 0.6 ms of a 2.1 ms search on SQLite, more when traced
    # (the sqlite3 instrumentation wraps each new connection); health checks drop a broken one.
    config: dict[str, Any] = dj_database_url.parse(  # type: ignore[assignment]
        env_str("DATABASE_URL", f"sqlite:///{SERVICE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {}).update(_sqlite_options())
    return config


DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# DJANGO_STATIC_ROOT: where `collectstatic` gathers files for a production web server.
STATIC_ROOT: str | None = env_str("DJANGO_STATIC_ROOT", str(SERVICE_DIR / "staticfiles"))

# Django's own loggers propagate to the root logger, which strangler_shared.configure_logging
# (called by each entrypoint) sends to stderr as JSON with the trace id.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# RAG_BASE_URL: where the new retrieval service answers HTTP (core delegates suggestions to it).
RAG_BASE_URL = env_str("RAG_BASE_URL", "http://127.0.0.1:8001")

# CORE_RAG_TIMEOUT_SECONDS: total time budget of one call to rag (connecting gets 1 s of it).
CORE_RAG_TIMEOUT_SECONDS = env_float("CORE_RAG_TIMEOUT_SECONDS", 3.0)

# CORE_RAG_GRPC_TARGET: host:port of rag's RagService (related articles use its Search, and the
# chat its Answer stream when CORE_CHAT_PROVIDER=rag).
CORE_RAG_GRPC_TARGET = env_str("CORE_RAG_GRPC_TARGET", "127.0.0.1:50052")

# CORE_RAG_GRPC_TIMEOUT_SECONDS: deadline of one RagService.Search call.
CORE_RAG_GRPC_TIMEOUT_SECONDS = env_float("CORE_RAG_GRPC_TIMEOUT_SECONDS", 2.0)

# CORE_RAG_ANSWER_DEADLINE_SECONDS: deadline of one whole RagService.Answer stream (rag ends a
# stream whose own provider stays silent too long; this bounds a rag that stops answering).
CORE_RAG_ANSWER_DEADLINE_SECONDS = env_float("CORE_RAG_ANSWER_DEADLINE_SECONDS", 60.0)

# CORE_CHAT_PROVIDER: what writes the legacy chat's answers from the articles core retrieves:
# extractive (default: offline, the articles' best sentences), simulated (the extractive answer
# at a language model's pace, for load studies), openai (any OpenAI-compatible chat-completions
# endpoint); or rag, which delegates retrieval and answer to RagService.Answer over gRPC.
CHAT_PROVIDERS = frozenset({"extractive", "simulated", "openai", "rag"})
CORE_CHAT_PROVIDER = env_choice("CORE_CHAT_PROVIDER", "extractive", CHAT_PROVIDERS)

# CORE_CHAT_TIMEOUT_SECONDS: longest wait for the provider's next piece of answer (the first one
# included); past it the answer fails with provider_timeout (simulated and openai).
CORE_CHAT_TIMEOUT_SECONDS = env_float("CORE_CHAT_TIMEOUT_SECONDS", 30.0)

# CORE_CHAT_SIMULATED_FIRST_TOKEN_SECONDS, CORE_CHAT_SIMULATED_TOKENS_PER_SECOND: the simulated
# provider's delay before its first word and its pace after it.
CORE_CHAT_SIMULATED_FIRST_TOKEN_SECONDS = env_float(
    "CORE_CHAT_SIMULATED_FIRST_TOKEN_SECONDS", 1.0, allow_zero=True
)
CORE_CHAT_SIMULATED_TOKENS_PER_SECOND = env_float("CORE_CHAT_SIMULATED_TOKENS_PER_SECOND", 20.0)

# CORE_CHAT_OPENAI_BASE_URL: an OpenAI-compatible API (OpenAI, vLLM, Ollama's
# http://127.0.0.1:11434/v1, llama.cpp's server); /chat/completions is appended.
CORE_CHAT_OPENAI_BASE_URL = env_str("CORE_CHAT_OPENAI_BASE_URL", "https://api.openai.com/v1")
# CORE_CHAT_OPENAI_MODEL: the model to ask.
CORE_CHAT_OPENAI_MODEL = env_str("CORE_CHAT_OPENAI_MODEL", "gpt-4o-mini")
# CORE_CHAT_OPENAI_API_KEY: sent as a bearer token; unset for local servers that need none.
CORE_CHAT_OPENAI_API_KEY = env_str("CORE_CHAT_OPENAI_API_KEY")

# STRIPE_WEBHOOK_SECRET: the signing secret ("whsec_...") of the legacy /webhooks/stripe view.
# Unset: the view answers 503 rather than accepting unsigned events; production refuses to start.
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")

# STRANGLER_IDENTITY_SECRET (or STRANGLER_IDENTITY_SECRET_FILE): the key that signs the identity
# core hands the gateway for the services behind it (strangler_shared.identity); shared with
# those services only. Unset: /internal/auth/session answers 503. Production refuses to start
# without a strong one.
IDENTITY_SECRET = identity_secret_from_env()

# CORE_IDENTITY_TTL_SECONDS: how long a signed identity stays valid (the gateway caches the
# session check for a few seconds, well inside this).
IDENTITY_TTL_SECONDS = env_int("CORE_IDENTITY_TTL_SECONDS", 60)

# CORE_ADMIN_PASSWORD: when set, `manage.py seed` creates (or updates) the superuser "admin".
CORE_ADMIN_PASSWORD = env_str("CORE_ADMIN_PASSWORD")
