"""Development secrets, generated once per checkout into var/secrets and never committed."""

import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DevSecrets:
    """The secrets the local stack's processes need."""

    service_token: str
    stripe_webhook_secret: str
    django_secret_key: str
    admin_password: str
    identity_secret: str


_GENERATORS = {
    "service-token": lambda: secrets.token_urlsafe(32),
    "stripe-webhook-secret": lambda: "whsec_" + secrets.token_hex(24),
    "django-secret-key": lambda: secrets.token_urlsafe(50),
    "admin-password": lambda: secrets.token_urlsafe(12),
    # Core signs users' identities with it; rag checks them. Never given to the gateway.
    "identity-secret": lambda: secrets.token_urlsafe(32),
}


def _read_or_create(folder: Path, name: str) -> str:
    path = folder / name
    if not path.exists():
        path.write_text(_GENERATORS[name]() + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def ensure_secrets(var: Path) -> DevSecrets:
    """Return the checkout's dev secrets, generating the missing ones."""
    folder = var / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    values = {name: _read_or_create(folder, name) for name in _GENERATORS}
    return DevSecrets(
        service_token=values["service-token"],
        stripe_webhook_secret=values["stripe-webhook-secret"],
        django_secret_key=values["django-secret-key"],
        admin_password=values["admin-password"],
        identity_secret=values["identity-secret"],
    )
