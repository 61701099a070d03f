"""One task try in its own process, so a test can SIGKILL it mid-call like a dying Airflow worker.

The task state store is a JSON file (written atomically), so what the killed try recorded before it
died is there for the next try, as Airflow's store is. Prints the try's return value as JSON.

    python -P scripts/chaos_worker.py --store S.json create --request-string MyRS
    python -P scripts/chaos_worker.py --store S.json launch --stage 12
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chaos_harness import FakeTI


class FileStore:
    """``task_state_store`` kept in a JSON file that survives the process."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str, default: Any = None) -> Any:
        return self._load().get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        data = self._load()
        data[key] = value
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)

    def delete(self, key: str) -> None:
        data = self._load()
        data.pop(key, None)
        self.path.write_text(json.dumps(data))


def context(store: Any, try_number: int, task_id: str) -> dict[str, Any]:
    ti = FakeTI("chaos_worker", "manual__worker_kill", task_id)
    ti.try_number = try_number
    return {"ti": ti, "task_instance": ti, "run_id": ti.run_id, "task_state_store": store}


def run_create(store: Any, try_number: int, request_string: str) -> str:
    from airflow_provider_poms.emulator.reqmgr2.samples import stepchain_spec
    from airflow_provider_poms.operators.reqmgr2 import ReqMgr2CreateRequestOperator

    op = ReqMgr2CreateRequestOperator(task_id="create", spec=stepchain_spec(request_string))
    return str(op.execute(context(store, try_number, "create")))


def run_launch(store: Any, try_number: int, stage: int) -> int:
    from airflow_provider_poms.operators.poms import PomsLaunchStageOperator

    op = PomsLaunchStageOperator(
        task_id="launch", campaign_stage_id=stage, experiment="samdev", role="production"
    )
    return int(op.execute(context(store, try_number, "launch")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="JSON file of the task state store (none: no store)")
    parser.add_argument("--try-number", type=int, default=1)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("create").add_argument("--request-string", required=True)
    sub.add_parser("launch").add_argument("--stage", type=int, required=True)
    opts = parser.parse_args(argv)
    store = FileStore(opts.store) if opts.store else None
    if opts.what == "create":
        result: Any = run_create(store, opts.try_number, opts.request_string)
    else:
        result = run_launch(store, opts.try_number, opts.stage)
    print(json.dumps({"result": result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
