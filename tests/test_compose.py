"""docker-compose.yml, checked statically (this machine has no Docker engine to run it)."""

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
ONE_SHOT = {name for name, service in SERVICES.items() if service.get("restart") == "no"}
SECRETS = {
    "STRANGLER_SERVICE_TOKEN",
    "DJANGO_SECRET_KEY",
    "POSTGRES_PASSWORD",
    "STRIPE_WEBHOOK_SECRET",
}


def test_every_route_table_upstream_is_a_compose_service() -> None:
    table = tomllib.loads((ROOT / "gateway" / "routes.toml").read_text())
    assert set(table["upstreams"]) <= set(SERVICES)
    gateway_command = SERVICES["gateway"]["command"]
    for name in table["upstreams"]:
        assert f"--upstream {name}={name}:" in gateway_command


def test_every_long_running_service_has_a_healthcheck() -> None:
    assert sorted(ONE_SHOT) == ["core-migrate"]
    for name, service in SERVICES.items():
        if name not in ONE_SHOT:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_dependencies_wait_for_health_or_completion() -> None:
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            expected = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert rule["condition"] == expected, f"{name} -> {dependency}"


def test_variables_are_required_or_have_an_explicit_default() -> None:
    references = re.findall(r"\$\{([A-Z_]+)(:[?-])?[^}]*\}", COMPOSE_TEXT)
    assert not re.search(r"\$[A-Z_]", COMPOSE_TEXT), "bare $VAR: use ${VAR:?…} or ${VAR:-…}"
    assert all(operator for _, operator in references), references
    required = {name for name, operator in references if operator == ":?"}
    assert required >= SECRETS
    example = (ROOT / "infra" / "compose.env.example").read_text()
    for name in required:
        assert re.search(rf"^{name}=", example, re.MULTILINE), f"{name} missing from the example"


def test_published_ports_are_loopback_only() -> None:
    for name, service in SERVICES.items():
        for mapping in service.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), f"{name} publishes {mapping}"


def test_files_the_commands_name_exist() -> None:
    named = re.findall(r"(services/[\w/.-]+\.py)", COMPOSE_TEXT)
    assert named
    for path in named:
        assert (ROOT / path).is_file(), path
    assert (ROOT / SERVICES["core"]["build"]["dockerfile"]).is_file()


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="needs the docker compose plugin, which this machine does not have",
)
def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("".join(f"{name}={'x' * 40}\n" for name in SECRETS))
    subprocess.run(
        ["docker", "compose", "--env-file", str(env), "-f", str(ROOT / "docker-compose.yml"),
         "config", "--quiet"],
        check=True,
    )  # fmt: skip
