"""Per-task result types, decoders from raw outputs, and the hosted API v1 JSON shape."""
