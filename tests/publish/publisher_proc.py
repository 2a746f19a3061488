"""A publisher process for the crash tests: ``python -m tests.publish.publisher_proc ...``.

Accepts ``--count`` results per stream through :class:`MqttSink`, prints ``accepted N``, then
either holds (to be killed) or waits until the broker has every spooled result and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from edge.publish.config import MqttConfig, SpoolConfig
from edge.publish.mqtt import MqttSink
from tests.publish.results import detection


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--spool", type=Path, required=True)
    p.add_argument("--device", default="crashy")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--streams", default="cam1,cam2")
    p.add_argument("--then", choices=["hold", "drain"], default="hold")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="publisher %(levelname)s %(message)s")
    config = MqttConfig(host="127.0.0.1", port=args.port, device_id=args.device, keepalive=5, reconnect_delay_max=1)
    sink = MqttSink(config, SpoolConfig(args.spool))
    streams = args.streams.split(",")
    for frame in range(args.first, args.first + args.count):
        for stream in streams:
            sink.publish(detection(stream, "detect", frame))
    print(f"accepted {args.count * len(streams)}", flush=True)
    if args.then == "hold":
        while True:
            time.sleep(3600)
    drained = sink.flush(30.0)
    sink.close(5.0)
    print("drained" if drained else "not drained", flush=True)
    return 0 if drained else 1


if __name__ == "__main__":
    sys.exit(main())
