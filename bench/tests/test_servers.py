"""Each bare app is served as its service is: keep-alive and reuse_port come from its config."""

from strangler_bench.servers import (
    CORE_GUNICORN,
    WEBHOOKS_GUNICORN,
    bare_gunicorn_argv,
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
