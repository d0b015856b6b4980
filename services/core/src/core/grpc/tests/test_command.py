"""`manage.py grpcserver` as it is really started: serves health, stops on SIGTERM."""

from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from strangler_testing import picked_port

from core.config.tests.processes import SERVICE_DIR, process_env, start, stop, wait_until
from core.grpc.servicer import SERVICE_NAME


def _serving(target: str) -> bool:
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=1
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def test_grpcserver_serves_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    # `grpcserver --bind` takes an address, not a socket: the best is a port the kernel just picked.
    target = f"127.0.0.1:{picked_port()}"
    argv = [str(SERVICE_DIR / "manage.py"), "grpcserver", "--bind", target, "--grace", "2"]
    process = start(argv, process_env(tmp_path), tmp_path)
    try:
        wait_until(lambda: _serving(target), process, 30)
    finally:
        code = stop(process)

    assert code == 0
    assert "received SIGTERM" in (tmp_path / "stderr.log").read_text()


def test_grpcserver_refuses_to_start_without_a_service_token(tmp_path: Path) -> None:
    env = process_env(tmp_path)
    del env["STRANGLER_SERVICE_TOKEN"]
    argv = [str(SERVICE_DIR / "manage.py"), "grpcserver", "--bind", f"127.0.0.1:{picked_port()}"]

    process = start(argv, env, tmp_path)
    code = process.wait(timeout=60)

    assert code != 0
    assert "STRANGLER_SERVICE_TOKEN" in (tmp_path / "stderr.log").read_text()
