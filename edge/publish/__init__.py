"""Where results go: the MQTT sink with its durable spool (``mqtt``, ``spool``), the console sink.

Submodules are imported by name so that reading the config never imports paho.
See docs/mqtt.md.
"""
