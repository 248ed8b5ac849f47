"""The HTTP API (FastAPI): thin routers that validate input and call services."""
