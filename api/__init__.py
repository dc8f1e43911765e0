"""The HTTP API: REST under /v1 (``api.rest``), health, auth and problem+json errors."""
