"""``edge doctor [--config FILE]``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "doctor",
        help="print what this device offers (runtimes, GPU, OpenCV, GStreamer) and what edge will use",
        description="Prints Python, edge, ONNX Runtime, TensorRT, pycuda and the CUDA device, DLA cores, the OpenCV "
        "in use, the Jetson GStreamer elements and the state and engine directories, with the one line that fixes "
        "each problem. With --config, says which backend each model runs on and exits 1 when one cannot run.",
    )
    p.add_argument("--config", help="a daemon config: check that each model's backend can run here")
    p.set_defaults(func=_cmd_doctor)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from edge.config import ConfigErrors, default_state_dir, load_config
    from edge.daemon.commands import print_config_errors
    from edge.doctor.report import device_findings, gather, model_findings, render
    from edge.engines.paths import default_engine_dir

    config = None
    if args.config:
        try:
            config = load_config(Path(args.config))
        except ConfigErrors as exc:
            print_config_errors(exc.lines)
            return 2
    device = gather()
    state = config.state_dir if config else default_state_dir()
    engines = (config.engines_dir if config else None) or default_engine_dir()
    findings = device_findings(device, state, engines)
    ok = True
    if config is not None:
        models, ok = model_findings(config, device)
        findings += models
    print(render(findings))
    if not ok:
        print(f"\n{args.config}: a configured backend cannot run here (see fix: above)")
    return 0 if ok else 1
