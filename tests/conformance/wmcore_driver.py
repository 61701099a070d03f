"""Drives one request through its whole life with the OFFICIAL WMCore ReqMgr client.

Run with the reqmgr2 virtualenv's python (the provider's env never imports WMCore):

    python wmcore_driver.py PLAN.json

PLAN holds: url, operator_cert, operator_key, requestor_cert, requestor_key, ca_dir, spec (the
operator's StepChain), requestor_spec, assignment (request bodies come from specs.py, one source).

Prints one JSON object on stdout: ``{"steps": [{"step", "call", "ok", "result" | "error"}...]}``.
The pytest side (test_wmcore_client.py) checks the same facts against both targets, so this script
only records what happened and never decides pass/fail. Identity switches (operator / requestor)
need separate client objects because the WMCore client reads its certificate from X509_USER_* at
construction time.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import traceback
from typing import Any

STATUS_PATH = [
    "staging",
    "staged",
    "acquired",
    "running-open",
    "running-closed",
    "completed",
    "closed-out",
    "announced",
]


def step_record(step: str, call: str, func: Any) -> dict[str, Any]:
    try:
        result = func()
        return {"step": step, "call": call, "ok": True, "result": result}
    except http.client.HTTPException as exc:
        headers = {str(k).lower(): v for k, v in (getattr(exc, "headers", None) or {}).items()}
        body = getattr(exc, "result", b"")
        if isinstance(body, bytes):
            body = body.decode(errors="replace")
        return {
            "step": step,
            "call": call,
            "ok": False,
            "error": {
                "status": getattr(exc, "status", None),
                "reason": getattr(exc, "reason", None),
                "x-rest-status": headers.get("x-rest-status"),
                "x-error-detail": headers.get("x-error-detail"),
                "content-type": headers.get("content-type"),
                "body": str(body)[:2000],
            },
        }
    except Exception as exc:
        return {
            "step": step,
            "call": call,
            "ok": False,
            "error": {"exception": repr(exc), "traceback": traceback.format_exc()[-2000:]},
        }


def client(url: str, cert: str, key: str) -> Any:
    os.environ["X509_USER_CERT"] = cert
    os.environ["X509_USER_KEY"] = key
    from WMCore.Services.ReqMgr.ReqMgr import ReqMgr

    return ReqMgr(url)


def main() -> None:
    with open(sys.argv[1]) as fh:
        plan = json.load(fh)
    url = plan["url"]
    os.environ["X509_CERT_DIR"] = plan["ca_dir"]
    op = client(url, plan["operator_cert"], plan["operator_key"])
    steps: list[dict[str, Any]] = []

    def run(step: str, call: str, func: Any) -> Any:
        rec = step_record(step, call, func)
        steps.append(rec)
        return rec.get("result")

    created = run("create", "insertRequests", lambda: op.insertRequests(plan["spec"]))
    name = created[0]["request"] if created else "missing"
    run("get", "getRequestByNames", lambda: op.getRequestByNames(name))
    run(
        "mask",
        "getGenericRequestInfo",
        lambda: op.getGenericRequestInfo({"name": name, "mask": ["RequestStatus", "Campaign"]}),
    )
    run(
        "priority",
        "updateRequestProperty",
        lambda: op.updateRequestProperty(name, {"RequestPriority": 200000}),
    )
    run("approve", "updateRequestStatus", lambda: op.updateRequestStatus(name, "assignment-approved"))
    run("assign", "updateRequestProperty", lambda: op.updateRequestProperty(name, dict(plan["assignment"])))
    run("skip-acquired", "updateRequestStatus", lambda: op.updateRequestStatus(name, "acquired"))
    for status in STATUS_PATH:
        run(f"to-{status}", "updateRequestStatus", lambda s=status: op.updateRequestStatus(name, s))
    run("final", "getRequestByNames", lambda: op.getRequestByNames(name))
    run("forbidden", "updateRequestStatus", lambda: op.updateRequestStatus(name, "new"))
    run("unknown-get", "getRequestByNames", lambda: op.getRequestByNames("no_such_request"))
    run(
        "unknown-put",
        "updateRequestProperty",
        lambda: op.updateRequestProperty("no_such_request", {"RequestPriority": 5}),
    )
    cloned = run("clone", "cloneRequest", lambda: op.cloneRequest(name, {"RequestPriority": 5}))
    clone_name = cloned[0]["request"] if cloned else "missing"
    run("clone-get", "getRequestByNames", lambda: op.getRequestByNames(clone_name))
    run("clone-plain", "cloneRequest", lambda: op.cloneRequest(name))  # no overrides: an empty POST
    run("unknown-clone", "cloneRequest", lambda: op.cloneRequest("no_such_request", {}))
    run("parentlocks", "getParentLocks", lambda: op.getParentLocks())

    # The requestor holds only the ppd-level role: it may create and approve, not assign.
    rq = client(url, plan["requestor_cert"], plan["requestor_key"])
    created2 = run("rq-create", "insertRequests", lambda: rq.insertRequests(plan["requestor_spec"]))
    name2 = created2[0]["request"] if created2 else "missing"
    run("rq-approve", "updateRequestStatus", lambda: rq.updateRequestStatus(name2, "assignment-approved"))
    run(
        "rq-assign",
        "updateRequestProperty",
        lambda: rq.updateRequestProperty(name2, dict(plan["assignment"])),
    )
    run("rq-reject", "updateRequestStatus", lambda: rq.updateRequestStatus(name2, "rejected"))

    json.dump(
        {"name": name, "clone": clone_name, "requestor_name": name2, "steps": steps}, sys.stdout, default=str
    )


if __name__ == "__main__":
    main()
