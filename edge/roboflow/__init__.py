"""Roboflow models on the device: ``edge pull`` and models named by ``project/version``.

``client`` speaks HTTP to the Roboflow API, ``protocols`` turns its answers into a list of
files to fetch (the inference-models weights API first, the legacy ``/ort/`` route second),
``cache`` keeps pulled packages under the state directory, ``pull`` ties them together, and
``config`` / ``daemon`` connect it to the YAML config and the daemon's start.
"""
