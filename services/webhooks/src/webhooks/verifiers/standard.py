"""Standard Webhooks (standardwebhooks.com): ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, space-separated).

The signature is checked by the ``standardwebhooks`` library with ``whsec_`` base64 secrets. The
event's id is the ``webhook-id`` header (the spec's idempotency key); its type is the body's
``type``.
"""

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from strangler_shared.webhook_intake import InvalidSignatureError, MissingSignatureError

_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class StandardWebhooksVerifier:
    """Verify Standard Webhooks deliveries against any of the source's active secrets."""

    def __init__(self, secrets: Sequence[str]) -> None:
        self._webhooks = tuple(Webhook(_checked(secret)) for secret in secrets)

    def signed_at(self, headers: Mapping[str, str]) -> float:
        """Return ``webhook-timestamp`` once all three headers are present."""
        missing = [name for name in _HEADERS if not headers.get(name, "").strip()]
        if missing:
            raise MissingSignatureError(f"The {', '.join(missing)} header(s) are missing.")
        try:
            return float(int(headers["webhook-timestamp"].strip()))
        except ValueError:
            raise InvalidSignatureError("webhook-timestamp is not a Unix time.") from None

    def check_signature(self, body: str, headers: Mapping[str, str]) -> None:
        """Accept the delivery if any active secret produced one of its ``v1`` signatures."""
        signed = {name: headers[name] for name in _HEADERS}
        for webhook in self._webhooks:
            try:
                webhook.verify(body, signed, json_parse=False)
            except (WebhookVerificationError, ValueError, binascii.Error):
                continue
            return
        raise InvalidSignatureError("The webhook-signature does not verify.")

    def identify(
        self, payload: Mapping[str, Any], headers: Mapping[str, str]
    ) -> tuple[object, object]:
        """Return the ``webhook-id`` header and the body's ``type``."""
        return headers["webhook-id"].strip(), payload.get("type")


def _checked(secret: str) -> str:
    """Return ``secret`` if it is ``whsec_`` and base64; the library would accept any text."""
    encoded = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        key = b""
    if not secret.startswith("whsec_") or len(key) < 16:
        raise ValueError("a Standard Webhooks secret is 'whsec_' and at least 16 base64 bytes")
    return secret
