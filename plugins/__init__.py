"""textcls's built-in plugins.

Each module here is declared as an entry point in the ``textcls`` group of pyproject.toml, the
same way a third-party distribution declares its plugins, and imports only ``textcls``'s
public API.
"""
