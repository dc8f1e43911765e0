"""Demo data: synthetic organisations and deliveries per sector, loaded through the real intake."""
