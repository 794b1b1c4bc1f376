"""Data handling for the ingest stage: reading requests, cleaning, quality checks, splits."""
