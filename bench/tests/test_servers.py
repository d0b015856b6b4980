"""Each bare app is served as its service is: keep-alive, reuse_port and the access log."""

from strangler_bench.servers import (
    CORE_GUNICORN,
    WEBHOOKS_GUNICORN,
    bare_gunicorn_argv,
    bare_uvicorn_argv,
    gunicorn_settings,
)


def _keepalive(argv: list[str]) -> str | None:
    return argv[argv.index("--keep-alive") + 1] if "--keep-alive" in argv else None


def test_the_bare_flask_app_closes_connections_as_the_webhook_adapter_does() -> None:
    argv = bare_gunicorn_argv("hello:app", "127.0.0.1:1", 1, 4, WEBHOOKS_GUNICORN)

    assert gunicorn_settings(WEBHOOKS_GUNICORN)["keepalive"] == 0
    assert _keepalive(argv) == "0"
    assert "--reuse-port" not in argv  # the adapter's workers share one socket
    assert argv[-1] == "hello:app"


def test_the_bare_django_app_keeps_gunicorns_keep_alive_and_listens_per_worker_as_core() -> None:
    argv = bare_gunicorn_argv("hello:app", "127.0.0.1:1", 1, 4, CORE_GUNICORN)

    assert "keepalive" not in gunicorn_settings(CORE_GUNICORN)
    assert _keepalive(argv) is None
    assert "--reuse-port" in argv


def test_settings_computed_from_the_environment_are_left_out() -> None:
    settings = gunicorn_settings(CORE_GUNICORN)

    assert "workers" not in settings and "threads" not in settings
    assert settings["accesslog"] == "-"


def test_the_bare_fastapi_app_logs_no_request_as_rag_does_by_default() -> None:
    from rag.config import Settings

    argv = bare_uvicorn_argv("hello:app", 1)

    assert Settings.model_fields["access_log"].default is False
    assert "--no-access-log" in argv
    assert argv[-1] == "hello:app"
