"""Prefect tasks and flows over textcls_core's stages, and the ``textcls`` command line."""
