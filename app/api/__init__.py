"""The HTTP service: FastAPI app, routes under /api/v1, uploads, errors and the served index."""
