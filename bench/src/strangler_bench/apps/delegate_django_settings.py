"""Settings of the bare Django delegate (:mod:`strangler_bench.apps.delegate_django`).

A settings module, not ``settings.configure()``: the delegate runs under core's gunicorn config,
whose ``post_fork`` instruments Django before the app loads, and so reads the settings first.
Django's minimum: no middleware, no installed app, no database.
"""

import os

DEBUG = False
TIME_ZONE = "UTC"
SECRET_KEY = "bench-delegate-not-a-secret"  # noqa: S105 - a throwaway app on 127.0.0.1
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "strangler_bench.apps.delegate_django"
MIDDLEWARE: list[str] = []
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
# Where core calls rag, from the environment core runs with.
RAG_BASE_URL = os.environ["RAG_BASE_URL"]
