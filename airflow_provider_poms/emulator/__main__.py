"""``python -m airflow_provider_poms.emulator --state-dir DIR ...``: run the emulator."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import sys
from pathlib import Path

from airflow_provider_poms.emulator import connfile
from airflow_provider_poms.emulator.core import EmulatorConfig


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m airflow_provider_poms.emulator",
                                description="Offline POMS + ReqMgr2 emulator over HTTPS.")
    p.add_argument("--state-dir", required=True, type=Path, help="PKI, tokens, connection.json, SQLite")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = any free port (see connection.json)")
    p.add_argument("--clock-scale", type=float, default=1.0, help="emulated seconds per real second")
    p.add_argument("--seed", type=int, default=None, help="makes probability faults and actors repeatable")
    p.add_argument("--persist", action="store_true", help="keep state in STATE_DIR/emulator.sqlite")
    p.add_argument("--control", action="store_true",
                   help="enable the /_emulator/ control API (loopback only)")
    p.add_argument("--launch-redirect", choices=["submission_id", "fname"], default="submission_id",
                   help="POMS launch Location style")
    p.add_argument("--print-airflow-conns", action="store_true",
                   help="print AIRFLOW_CONN_* lines from STATE_DIR/connection.json and exit")
    p.add_argument("--identity", default="operator", help="identity used by --print-airflow-conns")
    p.add_argument("--log-level", default="INFO")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    state_dir: Path = args.state_dir.resolve()
    if args.print_airflow_conns:
        path = state_dir / connfile.FILE_NAME
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            print(f"cannot read {path}: {exc}", file=sys.stderr)
            return 2
        for line in connfile.export_lines(data, args.identity):
            print(line)
        return 0
    if args.control and not _is_loopback(args.host):
        print("refusing --control on a non-loopback --host", file=sys.stderr)
        return 2
    if args.clock_scale <= 0:
        print("--clock-scale must be > 0", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / connfile.FILE_NAME).unlink(missing_ok=True)
    config = EmulatorConfig(state_dir=state_dir, host=args.host, port=args.port, clock_scale=args.clock_scale,
                            seed=args.seed, persist=args.persist, control=args.control,
                            launch_redirect=args.launch_redirect)

    from airflow_provider_poms.emulator.server import serve

    control_factory = None
    if args.control:
        from airflow_provider_poms.emulator.control import create_control_app

        control_factory = create_control_app

    def on_ready(ctx: object, pki: object) -> None:
        from airflow_provider_poms.emulator.pki import Pki

        assert isinstance(pki, Pki)
        path = connfile.write(state_dir, connfile.build(config, pki))
        logging.getLogger("airflow_provider_poms.emulator").info(
            "serving %s (connection file %s)", config.base_url, path)

    asyncio.run(serve(config, on_ready=on_ready, control_factory=control_factory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
