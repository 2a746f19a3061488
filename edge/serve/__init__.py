"""The hosted API v1 routes, health checks and Prometheus metrics over HTTP (``http:``).

Nothing here is imported unless the config has ``http:`` or ``edge serve`` runs, so a daemon
without a server never loads the server library.
"""
