"""The descriptors reflection answers from: the published contracts, health and reflection itself.

Only schemas are here, never a servicer: the pool is built from the generated modules of
``strangler_contracts`` (every ``*_pb2`` under it, so a new contract needs no change here),
``grpc.health.v1`` and ``grpc.reflection.v1alpha``. grpcio-reflection ships no v1 module; v1's
messages are v1alpha's field for field, so its file is v1alpha's under the v1 package name.
"""

import importlib
import pkgutil
from collections.abc import Iterable
from types import ModuleType

import strangler_contracts
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FileDescriptor
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

from strangler_gateway.routetable import RouteTable

__all__ = ["REFLECTION_SERVICES", "UnknownServiceError", "contract_pool", "routed_services"]

_V1ALPHA = "grpc.reflection.v1alpha"
_V1 = "grpc.reflection.v1"
REFLECTION_SERVICES = (f"{_V1}.ServerReflection", f"{_V1ALPHA}.ServerReflection")


class UnknownServiceError(ValueError):
    """The route table lists a gRPC service that no published contract describes."""


def routed_services(table: RouteTable) -> list[str]:
    """Return the services the table's ``[[grpc]]`` entries route, in the table's order."""
    return [service for route in table.grpc for service in route.services]


def contract_pool(services: Iterable[str]) -> descriptor_pool.DescriptorPool:
    """Return a pool holding the files that define ``services``; refuse a service none defines."""
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()
    for module in (*_contract_modules(), health_pb2, reflection_pb2):
        _add_file(pool, module.DESCRIPTOR, added)
    pool.Add(_v1_reflection_file())
    missing = [name for name in services if not _defines(pool, name)]
    if missing:
        raise UnknownServiceError(
            f"no published contract defines {', '.join(missing)}: the route table routes it "
            "over gRPC, so reflection cannot describe it"
        )
    return pool


def _contract_modules() -> list[ModuleType]:
    prefix = f"{strangler_contracts.__name__}."
    names = pkgutil.walk_packages(strangler_contracts.__path__, prefix)
    return [importlib.import_module(info.name) for info in names if info.name.endswith("_pb2")]


def _add_file(pool: descriptor_pool.DescriptorPool, file: FileDescriptor, added: set[str]) -> None:
    # A file's imports go first: the pool resolves every type name when the file is added.
    if file.name in added:
        return
    for dependency in file.dependencies:
        _add_file(pool, dependency, added)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    pool.Add(proto)
    added.add(file.name)


def _v1_reflection_file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name = proto.name.replace("v1alpha", "v1")
    proto.package = _V1
    proto.ClearField("options")
    for message in proto.message_type:
        for field in message.field:
            # Only message fields name a type (a set empty name would be an error).
            if field.HasField("type_name"):
                field.type_name = _renamed(field.type_name)
    for service in proto.service:
        for method in service.method:
            method.input_type = _renamed(method.input_type)
            method.output_type = _renamed(method.output_type)
    return proto


def _renamed(type_name: str) -> str:
    old = f".{_V1ALPHA}."
    return f".{_V1}.{type_name.removeprefix(old)}" if type_name.startswith(old) else type_name


def _defines(pool: descriptor_pool.DescriptorPool, service: str) -> bool:
    try:
        pool.FindServiceByName(service)
    except KeyError:
        return False
    return True
