"""A real RTSP server for the tests: gst-rtsp-server serving a video file as H.264.

Run by the system Python, which has the GObject bindings (``python3-gi`` and
``gir1.2-gst-rtsp-server-1.0`` from Debian); the test virtualenv does not::

    /usr/bin/python3 tests/rtsp_server.py --port 8554 --file clip.mp4 [--path /clip]

Prints ``READY rtsp://127.0.0.1:<port><path>`` once it listens; SIGTERM stops it. The file
loops, so a client can read for as long as the test needs.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--path", default="/clip")
    args = ap.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    # Keyframes every 15 frames: a client that (re)connects decodes within a second.
    factory.set_launch(
        f'( multifilesrc location="{args.file}" loop=true ! decodebin ! videoconvert ! '
        "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! "
        "rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print(f"ERROR cannot listen on 127.0.0.1:{args.port}", flush=True)
        return 1

    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print(f"READY rtsp://127.0.0.1:{args.port}{args.path}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
