"""The device's own endpoints on the ``http:`` server: streams, status, config and pictures."""
