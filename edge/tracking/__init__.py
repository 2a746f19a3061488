"""Object tracking, zones, line counts and their events (issue 16); not yet wired into the pipeline.

Everything here is pure Python + numpy and is stepped by capture time in seconds, never by frame
counts, so dropped frames, uneven fps and hosted answers can feed the same tracker.
"""
