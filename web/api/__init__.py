"""The HTTP API, one blueprint per area (its routes are in web/openapi.json)."""
