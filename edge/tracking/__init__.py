"""Object tracking, zones, line counts and their events (issue 16).

`stream.StreamTracking` is the per-stream entry point (results in; tracked results, events and
counters out); the daemon wiring (config, MQTT, spool) is built on it elsewhere.

Everything here is pure Python + numpy and is stepped by capture time in seconds, never by frame
counts, so dropped frames, uneven fps and hosted answers can feed the same tracker.
"""
