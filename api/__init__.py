"""The scoring API (FastAPI): an HTTP face on the core (``geo``), built by :func:`api.app.create_app` from settings
passed in. Routes per resource in ``api/routes/``; domain errors are answered as problem+json by ``api/errors.py``
with the status their class carries; ``api`` never imports ``cli``."""
