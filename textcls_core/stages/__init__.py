"""The pipeline stages, as plain functions that read and write artifact directories."""
