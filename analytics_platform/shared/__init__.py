"""The shared mode's servers: PostgreSQL (the DuckLake catalog) and SeaweedFS (the object store).

``servers.py`` starts real ones on this machine's loopback for tests and demos; a deployment
points the same settings (``analytics_platform/settings.py``) at its own.
"""
