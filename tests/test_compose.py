"""docker-compose.yml, checked statically (this machine has no Docker engine to run it)."""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from strangler_shared import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
COLLECTOR_CONFIG = ROOT / "infra" / "otel" / "collector.yaml"
COLLECTOR: dict[str, Any] = yaml.safe_load(COLLECTOR_CONFIG.read_text())
COLLECTOR_ENDPOINT = "http://otel-collector:4318"
ONE_SHOT = {name for name, service in SERVICES.items() if service.get("restart") == "no"}
SECRETS = {
    "STRANGLER_SERVICE_TOKEN",
    "STRANGLER_IDENTITY_SECRET",
    "DJANGO_SECRET_KEY",
    "POSTGRES_PASSWORD",
    "STRIPE_WEBHOOK_SECRET",
    "STANDARD_WEBHOOK_SECRET",
}


# Where each route-table upstream runs in compose. Compose names use "-" where upstream names use
# "_"; rag serves gRPC from the same process (and container) as HTTP.
UPSTREAM_SERVICES = {
    "core": "core",
    "rag": "rag",
    "webhooks": "webhooks",
    "core_grpc": "core-grpc",
    "rag_grpc": "rag",
    "shadow": "shadow",
    "traces": "traces",
    "console": "console",
    "reflection": "reflection",
}


def _gateway_upstreams() -> dict[str, str]:
    pairs = re.findall(r"--upstream (\S+)=(\S+)", SERVICES["gateway"]["command"])
    return dict(pairs)


def test_every_route_table_upstream_is_a_compose_service() -> None:
    table = tomllib.loads((ROOT / "gateway" / "routes.toml").read_text())
    unmapped = set(table["upstreams"]) - set(UPSTREAM_SERVICES)
    assert not unmapped, f"new upstreams {unmapped}: add a compose service and map it here"
    given = _gateway_upstreams()
    assert set(given) == set(table["upstreams"]), "the gateway gets every upstream, no other"
    for name, address in given.items():
        host, _, port = address.partition(":")
        assert host == UPSTREAM_SERVICES[name] and port.isdigit(), f"{name}={address}"
        assert host in SERVICES
        assert SERVICES["gateway"]["depends_on"][host] == {"condition": "service_healthy"}


def test_every_long_running_service_has_a_healthcheck() -> None:
    assert sorted(ONE_SHOT) == ["core-migrate"]
    for name, service in SERVICES.items():
        if name not in ONE_SHOT:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_collector_and_jaeger_healthchecks_call_their_health_endpoints() -> None:
    health_port = COLLECTOR["extensions"]["health_check"]["endpoint"].rsplit(":", 1)[1]
    collector_probe = SERVICES["otel-collector"]["healthcheck"]["test"]
    assert f"http://127.0.0.1:{health_port}/" in collector_probe
    assert "http://127.0.0.1:13133/status" in SERVICES["jaeger"]["healthcheck"]["test"]


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


def test_jaeger_ui_is_published_on_loopback_only() -> None:
    assert SERVICES["jaeger"]["ports"] == ["127.0.0.1:16686:16686"]
    assert str(SERVICES["jaeger"]["image"]).startswith("jaegertracing/jaeger:2.")
    # Services reach the collector over the compose network; the host needs none of its ports.
    assert not SERVICES["otel-collector"].get("ports")


def _pipeline_components(pipeline: dict[str, Any]) -> dict[str, list[str]]:
    return {kind: pipeline.get(kind, []) for kind in ("receivers", "processors", "exporters")}


def test_collector_pipelines_use_only_defined_components_and_all_of_them() -> None:
    pipelines = COLLECTOR["service"]["pipelines"]
    assert "traces" in pipelines
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
    for name, pipeline in pipelines.items():
        for kind, components in _pipeline_components(pipeline).items():
            assert components or kind == "processors", f"pipeline {name} has no {kind}"
            undefined = set(components) - set(COLLECTOR.get(kind) or {})
            assert not undefined, f"pipeline {name} names undefined {kind}: {undefined}"
            used[kind] |= set(components)
    for kind, names in used.items():
        assert names == set(COLLECTOR.get(kind) or {}), f"{kind} defined but unused"
    assert set(COLLECTOR["service"]["extensions"]) == set(COLLECTOR["extensions"])


def test_collector_receives_otlp_and_forwards_to_jaeger_and_the_trace_store() -> None:
    protocols = COLLECTOR["receivers"]["otlp"]["protocols"]
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    exporters = COLLECTOR["exporters"]
    endpoints = {name.split("/")[0]: spec["endpoint"] for name, spec in exporters.items()}
    assert endpoints == {"otlp_grpc": "jaeger:4317", "otlp_http": "http://traces:4318"}
    batch_first = COLLECTOR["service"]["pipelines"]["traces"]["processors"]
    assert batch_first[0] == "memory_limiter" and "batch" in batch_first


def test_collector_runs_the_config_in_this_repository() -> None:
    collector = SERVICES["otel-collector"]
    config_path = collector["command"][0].removeprefix("--config=")
    assert f"./infra/otel/collector.yaml:{config_path}:ro" in collector["volumes"]
    assert (ROOT / collector["build"]["context"] / "Dockerfile").is_file()
    for name in ("jaeger", "traces"):
        assert collector["depends_on"][name]["condition"] == "service_healthy"


def _waits_for(name: str) -> set[str]:
    """Return every service ``name`` waits for, directly or through its dependencies."""
    direct = set(SERVICES[name].get("depends_on", {}))
    return direct.union(*(_waits_for(dependency) for dependency in direct))


def test_every_traced_service_exports_to_the_collector_under_a_project_name() -> None:
    traced = {
        name: service["environment"]
        for name, service in SERVICES.items()
        if "OTEL_SERVICE_NAME" in (service.get("environment") or {})
    }
    assert {"core", "core-grpc", "rag", "webhooks"} <= set(traced)
    for name, environment in traced.items():
        assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == COLLECTOR_ENDPOINT, name
        # core's HTTP and gRPC servers are one service in two processes, as in the local stack.
        assert environment["OTEL_SERVICE_NAME"] == name.split("-")[0], name
        assert environment["OTEL_SERVICE_NAME"] in SERVICE_NAMES, name
        assert "deployment.environment.name=compose" in environment["OTEL_RESOURCE_ATTRIBUTES"]
        if name not in ONE_SHOT:
            assert "otel-collector" in _waits_for(name), f"{name} starts before the collector"
    # No service knows a backend: only the collector talks to Jaeger and the trace store.
    assert "OTEL_EXPORTER_OTLP_ENDPOINT: http://traces" not in COMPOSE_TEXT
    assert "jaeger:4317" not in COMPOSE_TEXT


def test_trace_store_follows_the_gateway_access_log_from_its_volume() -> None:
    gateway_volume, gateway_mount = SERVICES["gateway"]["volumes"][0].split(":")[:2]
    prefix = re.search(r"--prefix (\S+)", SERVICES["gateway"]["command"])
    assert prefix and prefix.group(1).startswith(gateway_mount + "/")
    traces = SERVICES["traces"]
    mounts = dict(volume.split(":")[:2] for volume in traces["volumes"])
    log = re.search(r"--gateway-log (\S+)", traces["command"])
    assert log, "the trace store makes the gateway's spans from its access log"
    relative = prefix.group(1).removeprefix(gateway_mount) + "/logs/access.log"
    assert log.group(1) == mounts[gateway_volume] + relative
    assert f"{gateway_volume}:{mounts[gateway_volume]}:ro" in traces["volumes"]


def test_trace_store_exports_the_gateway_spans_to_the_collector() -> None:
    traces = SERVICES["traces"]
    forward = re.search(r"--forward-gateway-spans (\S+)", traces["command"])
    assert forward, "without it, Jaeger's traces would miss their gateway root"
    assert forward.group(1) == f"{COLLECTOR_ENDPOINT}/v1/traces"
    environment = traces["environment"]
    assert environment["OTEL_SDK_DISABLED"] == "true", "the store never traces itself"
    assert "deployment.environment.name=compose" in environment["OTEL_RESOURCE_ATTRIBUTES"]


# The part of each command that names a program of this repository, and how to ask it for help.
_PROGRAMS = {
    "traces": ("python -m tracestore serve", ["-m", "tracestore", "serve"]),
    "rag": ("python -m rag", ["-m", "rag"]),
    "shadow": ("shadow serve", ["-m", "strangler_gateway.shadow", "serve"]),
    "reflection": ("reflection serve", ["-m", "strangler_gateway.reflection", "serve"]),
    "gateway": (" serve ", ["-m", "strangler_gateway.cli", "serve"]),
}


@pytest.mark.parametrize("name", sorted(_PROGRAMS))
def test_commands_use_only_options_their_programs_have(name: str) -> None:
    marker, help_argv = _PROGRAMS[name]
    command = SERVICES[name]["command"]
    assert marker in command
    options = set(re.findall(r"(--[a-z][a-z-]*)", command.split(marker, 1)[1]))
    completed = subprocess.run(
        [sys.executable, *help_argv, "--help"], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    missing = {option for option in options if option not in completed.stdout}
    assert not missing, f"{name}: {missing} unknown to `{' '.join(help_argv)}`"


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


# The image each compose service runs: the Dockerfile target of the package its program lives in.
IMAGE_OF_SERVICE = {
    "traces": "traces",
    "core-migrate": "core",
    "core-grpc": "core",
    "core": "core",
    "rag": "rag",
    "webhooks": "webhooks",
    "shadow": "gateway",
    "console": "gateway",
    "reflection": "gateway",
    "gateway": "gateway",
}
DOCKERFILE = ROOT / "infra" / "docker" / "Dockerfile"
DOCKERFILE_TEXT = DOCKERFILE.read_text()


def _workspace_members() -> dict[str, str]:
    """Return each workspace member's package name by its folder."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {
        folder: tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]["name"]
        for folder in root["tool"]["uv"]["workspace"]["members"]
    }


def test_each_service_runs_the_image_of_its_own_package() -> None:
    built = {name: service for name, service in SERVICES.items() if "build" in service}
    assert set(built) == set(IMAGE_OF_SERVICE) | {"otel-collector"}
    members = _workspace_members()
    for name, target in IMAGE_OF_SERVICE.items():
        build = SERVICES[name]["build"]
        assert build["dockerfile"] == "infra/docker/Dockerfile", name
        assert build["target"] == target, name
        assert SERVICES[name]["image"] == f"strangler-fig-{target}:local", name
        args = build["args"]
        assert members[args["MEMBER"]] == args["PACKAGE"], f"{name}: {args}"
    images = {SERVICES[name]["image"]: SERVICES[name]["build"]["args"]["PACKAGE"]
              for name in IMAGE_OF_SERVICE}  # fmt: skip
    assert len(images) == len(set(images.values())) == 5, "one image per package, five packages"


def test_every_image_target_is_a_stage_that_runs_as_a_user() -> None:
    stages = {stage: base for base, stage in re.findall(r"^FROM (\S+) AS (\w+)$",
                                                        DOCKERFILE_TEXT, re.MULTILINE)}  # fmt: skip
    for target in set(IMAGE_OF_SERVICE.values()):
        assert stages.get(target) == "runtime", f"{target} must build on the runtime stage"
    runtime = DOCKERFILE_TEXT.split("AS runtime", 1)[1].split("\nFROM ", 1)[0]
    assert re.search(r"^USER app$", runtime, re.MULTILINE), "services never run as root"
    assert "COPY --from=builder /opt/venv /opt/venv" in runtime
    assert "grpcio-tools" not in runtime, "build tools stay in the builder stage"


def test_dependencies_install_before_any_source_is_copied() -> None:
    builder = DOCKERFILE_TEXT.split("AS builder", 1)[1].split("AS runtime", 1)[0]
    phase_one, phase_two = builder.split("--no-install-workspace", 1)
    copied = re.findall(r"^COPY (\S+)", phase_one, re.MULTILINE)
    metadata = {"pyproject.toml"} | {f"{folder}/pyproject.toml" for folder in _workspace_members()}
    assert set(copied) == metadata, "phase one reads only the lockfile and the members' metadata"
    assert "uv.lock" in phase_one and "--frozen" in phase_one
    assert "${MEMBER}/" in phase_two and "--no-editable" in phase_two


def test_the_test_toolkit_is_a_dev_member_no_image_installs() -> None:
    members = _workspace_members()
    assert members.get("testing") == "strangler-testing"
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "strangler-testing" in root["dependency-groups"]["dev"]
    for folder, name in members.items():
        if folder == "testing":
            continue
        project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]
        needs = project.get("dependencies", [])
        assert not [dep for dep in needs if dep.startswith("strangler-testing")], name
    packages = {SERVICES[name]["build"]["args"]["PACKAGE"] for name in IMAGE_OF_SERVICE}
    assert "strangler-testing" not in packages, "no image is built from the test toolkit"


def _size_table(text: str) -> dict[str, float]:
    """Read the rows of the Markdown table that scripts/image-sizes prints."""
    rows = re.findall(r"^\| (\w+) \| strangler-\w+ \| (\d+) \|$", text, re.MULTILINE)
    return {image: float(size) for image, size in rows}


def test_the_image_sizes_in_the_infra_readme_are_the_lockfile_s() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "image-sizes")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    measured = _size_table(completed.stdout)
    assert set(measured) == set(IMAGE_OF_SERVICE.values())
    quoted = _size_table((ROOT / "infra" / "README.md").read_text())
    assert set(quoted) == set(measured), "infra/README.md quotes every image"
    for image, megabytes in measured.items():
        assert abs(quoted[image] - megabytes) <= max(2.0, 0.05 * megabytes), (
            f"{image}: README says {quoted[image]} MB, the lockfile installs {megabytes} MB; "
            "update infra/README.md from `uv run scripts/image-sizes`"
        )


def test_core_and_rag_share_the_identity_key() -> None:
    # core signs users' identities and rag checks them: both need the same key, nobody else.
    for name in ("core", "core-grpc", "rag"):
        environment = SERVICES[name]["environment"]
        assert "STRANGLER_IDENTITY_SECRET" in environment, name


def test_two_webhook_adapters_share_one_outbox_behind_the_gateway() -> None:
    webhooks = SERVICES["webhooks"]
    assert webhooks["deploy"]["replicas"] == 2, "a restart of one adapter must cost no delivery"
    assert "ports" not in webhooks, "replicas publish no port: only the gateway reaches them"
    assert webhooks["environment"]["WEBHOOKS_OUTBOX_PATH"].startswith("/var/lib/strangler/")
    assert "webhooks-data:/var/lib/strangler" in webhooks["volumes"]
    sources = {name for name in webhooks["environment"] if name.endswith("_SIGNING_SECRET")}
    assert sources == {"WEBHOOKS_STRIPE_SIGNING_SECRET", "WEBHOOKS_STANDARD_SIGNING_SECRET"}
