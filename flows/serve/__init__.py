"""``textcls serve``: one model (a folder or the registry's champion) behind an HTTP API.

An ASGI app (FastAPI on uvicorn) over the one ``Predictor``: a dynamic batcher gathers
concurrent requests into one model call, a watcher swaps in a new champion without failing a
request, and uvicorn drains in-flight requests on SIGTERM. Nothing here imports Prefect.
"""
