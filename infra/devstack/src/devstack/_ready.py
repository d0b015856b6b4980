"""Readiness checks: how the runner knows a process is ready to take traffic."""

from dataclasses import dataclass
from typing import Protocol

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc


class ReadinessCheck(Protocol):
    """Something that says whether a process answers yet."""

    def __call__(self) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class HttpReady:
    """Ready when ``GET url`` answers 200."""

    url: str

    def __call__(self) -> bool:
        try:
            return httpx.get(self.url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def describe(self) -> str:
        return f"GET {self.url} -> 200"


@dataclass(frozen=True)
class GrpcReady:
    """Ready when the standard gRPC health service answers SERVING."""

    target: str
    service: str = ""

    def __call__(self) -> bool:
        request = health_pb2.HealthCheckRequest(service=self.service)
        try:
            with grpc.insecure_channel(self.target) as channel:
                reply = health_pb2_grpc.HealthStub(channel).Check(request, timeout=1.0)
        except grpc.RpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def describe(self) -> str:
        return f"grpc.health.v1 Check {self.target} -> SERVING"
