"""Home Assistant MQTT discovery: devices and entities for the daemon and its streams.

``config`` reads the ``homeassistant:`` section, ``slug`` makes ids HA accepts, ``discovery``
builds the device documents (pure functions), ``state`` aggregates results into the low-rate
state documents, ``sink`` publishes both over the MQTT sink's connection, ``remove`` clears them.
"""
