"""App configuration of the gRPC app (no models; the servicer and the `grpcserver` command)."""

from django.apps import AppConfig


class GrpcConfig(AppConfig):
    """CoreService over gRPC."""

    name = "core.grpc"
    label = "core_grpc"
    verbose_name = "gRPC CoreService"
