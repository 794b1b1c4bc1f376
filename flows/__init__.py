"""Prefect tasks and flows over textcls's stages, and the ``textcls`` command line."""
