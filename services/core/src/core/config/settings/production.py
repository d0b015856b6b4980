"""Settings for a real deployment: refuses to start without its secrets or with debug on."""

from django.core.exceptions import ImproperlyConfigured
from strangler_shared import InvalidSecretError
from strangler_shared.identity import load_identity_secret

from core.config.env import env_bool, env_int
from core.config.settings.base import *  # noqa: F403
from core.config.settings.base import DEBUG, SECRET_KEY, STRIPE_WEBHOOK_SECRET

# Values copied from an example file or typed by hand: none of them is a secret.
_PLACEHOLDERS = ("django-insecure", "change", "replace", "placeholder", "secret", "example")
# A random key of 32+ characters uses far more distinct characters than this.
_MIN_DISTINCT_CHARACTERS = 10

if DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off in production")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a random value in production")
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 32 characters in production")
if SECRET_KEY.lower().startswith(_PLACEHOLDERS) or len(set(SECRET_KEY)) < _MIN_DISTINCT_CHARACTERS:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is a placeholder, not a random value: generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`"
    )
try:
    IDENTITY_SECRET = load_identity_secret()
except InvalidSecretError as exc:
    raise ImproperlyConfigured(f"{exc} (production)") from exc
# Locally the legacy webhook view answers 503 without its secret; a deployment that cannot verify
# deliveries must not start and look healthy ("whsec_" alone is the example file's value).
if STRIPE_WEBHOOK_SECRET.strip() in ("", "whsec_"):
    raise ImproperlyConfigured(
        "STRIPE_WEBHOOK_SECRET must be set in production: the signing secret (whsec_...) of the "
        "/webhooks/stripe endpoint, from the Stripe dashboard"
    )

# DJANGO_SECURE_SSL: the deployment terminates TLS in front of core (cookies only over HTTPS).
_SECURE = env_bool("DJANGO_SECURE_SSL", False)
SESSION_COOKIE_SECURE = _SECURE
CSRF_COOKIE_SECURE = _SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _SECURE else None
# DJANGO_HSTS_SECONDS: Strict-Transport-Security max-age; 0 leaves the header off.
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
