"""Benchmarks at national scale: a synthetic Norway imported through the real path, measured against
the ceilings PostgreSQL and the HTTP server themselves set (see docs/performance.md)."""
