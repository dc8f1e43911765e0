"""REST routers under /v1, one module per area."""
