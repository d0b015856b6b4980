"""The environment variables the shared package reads, documented once, here.

Tracing reads only the standard OpenTelemetry variables (``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_TRACES_EXPORTER``,
``OTEL_TRACES_SAMPLER``, ``OTEL_PROPAGATORS``, ``OTEL_BSP_*``, ``OTEL_SDK_DISABLED``); see the
OpenTelemetry SDK's own ``opentelemetry.sdk.environment_variables`` for their meaning.
``OTEL_SEMCONV_STABILITY_OPT_IN`` defaults to ``http`` here (the stable HTTP conventions); a value
set in the environment wins. It concerns the official instrumentations: rag's server spans come
from FastAPI's own OpenTelemetry support, which always uses the stable names.
"""

STRANGLER_SERVICE_TOKEN = "STRANGLER_SERVICE_TOKEN"
"""
.. envvar:: STRANGLER_SERVICE_TOKEN

The shared secret every internal gRPC call carries (``authorization: Bearer <token>``) and every
gRPC server checks. At least 32 characters. ``make setup`` generates a random one into
``var/secrets/service-token`` for local runs; it is never committed and has no default.
"""

STRANGLER_SERVICE_TOKEN_FILE = "STRANGLER_SERVICE_TOKEN_FILE"
"""
.. envvar:: STRANGLER_SERVICE_TOKEN_FILE

A file holding the service token (Docker/Kubernetes secrets style), read when
``STRANGLER_SERVICE_TOKEN`` is not set.
"""

STRANGLER_IDENTITY_SECRET = "STRANGLER_IDENTITY_SECRET"
"""
.. envvar:: STRANGLER_IDENTITY_SECRET

The key that signs the user's identity core hands the gateway (``X-Identity``) and that every
service behind the gateway checks it with. At least 32 characters, shared by core and the new
services only (never by clients). ``make setup`` generates a random one into
``var/secrets/identity-secret`` for local runs; it is never committed and has no default.
"""

STRANGLER_IDENTITY_SECRET_FILE = "STRANGLER_IDENTITY_SECRET_FILE"
"""
.. envvar:: STRANGLER_IDENTITY_SECRET_FILE

A file holding the identity key, read when ``STRANGLER_IDENTITY_SECRET`` is not set.
"""

STRANGLER_LOG_FORMAT = "STRANGLER_LOG_FORMAT"
"""
.. envvar:: STRANGLER_LOG_FORMAT

``json`` (default) for one JSON object per log line with the trace id, or ``text``.
"""
