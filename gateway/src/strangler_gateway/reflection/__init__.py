"""Server reflection for every gRPC service the gateway routes, answered in one place.

Reflection is one bidirectional stream whose questions about every service travel on the same
path, so the gateway cannot send each question to the service it is about. This small server
answers them all from the project's published contracts (``strangler_contracts``) and the
standard services, for exactly the services the route table's ``[[grpc]]`` entries list; the
gateway routes the reflection paths (v1alpha and v1) to it like any other gRPC service.
"""

from strangler_gateway.reflection.catalog import (
    REFLECTION_SERVICES,
    UnknownServiceError,
    contract_pool,
    routed_services,
)
from strangler_gateway.reflection.server import RunningReflection, serve_reflection

__all__ = [
    "REFLECTION_SERVICES",
    "RunningReflection",
    "UnknownServiceError",
    "contract_pool",
    "routed_services",
    "serve_reflection",
]
