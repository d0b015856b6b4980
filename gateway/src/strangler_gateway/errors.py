"""The gateway's exceptions: one base class, so the CLI refuses with a message, not a traceback."""


class GatewayError(Exception):
    """Something the operator asked for cannot be done; the message says why."""


class RouteTableError(GatewayError):
    """The route table is invalid; the message names the file, line and field."""


class NginxError(GatewayError):
    """nginx could not be found, started, reloaded or stopped."""


class NginxConfigError(NginxError):
    """nginx refused a rendered config (`nginx -t`); the message carries nginx's own words."""
