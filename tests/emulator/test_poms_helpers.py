"""Shared helpers for the POMS emulator tests (no tests here): a tiny wire client and .ini builder.

The client speaks the wire protocol the way ``poms_client`` does (POST form fields, redirects not
followed) over real HTTPS with the emulator's client certificates, proxies or tokens.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests

from airflow_provider_poms.emulator.testing import EmulatorProcess


def unique(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


class Poms:
    """POST ``{poms_url}/<method>`` with form fields, as one identity acting in one experiment/role."""

    def __init__(
        self,
        emulator: EmulatorProcess,
        identity: str = "operator",
        auth: str = "cert",
        experiment: str | None = "samdev",
        role: str | None = None,
    ) -> None:
        self.emulator = emulator
        self.session: requests.Session = emulator.session(identity, auth)
        self.base = emulator.conn["poms_url"]
        self.experiment = experiment
        default_role = "analysis" if identity == "requestor" else "production"
        self.role = role or default_role

    def call(
        self,
        method: str,
        *,
        files: dict[str, tuple[str, bytes]] | None = None,
        verb: str = "POST",
        path: str = "",
        er: bool = True,
        **fields: Any,
    ) -> requests.Response:
        data = {k: v for k, v in fields.items() if v is not None}
        if er:
            data.setdefault("experiment", self.experiment)
            data.setdefault("role", self.role)
            data = {k: v for k, v in data.items() if v is not None}
        url = f"{self.base}/{method}{path}"
        if verb == "GET":
            return self.session.get(url, params=data, allow_redirects=False, timeout=30)
        return self.session.request(verb, url, data=data, files=files, allow_redirects=False, timeout=30)

    def json(self, method: str, **fields: Any) -> Any:
        resp = self.call(method, **fields)
        assert resp.status_code == 200, (method, resp.status_code, resp.text[:500])
        return resp.json()

    def upload_ini(self, text: str, **fields: Any) -> dict[str, Any]:
        resp = self.call(
            "ini_to_campaign",
            files={"upload": ("wf.ini", text.encode())},
            pcl_call="1",
            replace="False",
            **fields,
        )
        assert resp.status_code == 200, resp.text
        return resp.json()

    def stage_id(self, campaign: str, stage: str) -> int:
        val = self.json("get_campaign_stage_id", campaign_name=campaign, campaign_stage_name=stage)
        assert isinstance(val, int)
        return val

    def launch(self, campaign_stage_id: int, **fields: Any) -> int:
        resp = self.call("launch_jobs", campaign_stage_id=campaign_stage_id, **fields)
        assert resp.status_code == 303, (resp.status_code, resp.text)
        return launch_sid(resp.headers["Location"])

    def history(self, sid: int) -> list[str]:
        return [h["status"] for h in self.json("session_status_history", submission_id=sid)]

    def status(self, sid: int) -> str | None:
        hist = self.history(sid)
        return hist[-1] if hist else None

    def wait_for(
        self,
        sid: int,
        target: str,
        *,
        step: float = 120.0,
        max_emulated: float = 6 * 3600.0,
        real_timeout: float = 60.0,
    ) -> list[str]:
        """Advance the emulated clock until ``sid`` reaches ``target``; returns the status history."""
        waited = 0.0
        deadline = time.monotonic() + real_timeout
        while True:
            hist = self.history(sid)
            if hist and hist[-1] == target:
                return hist
            if waited > max_emulated or time.monotonic() > deadline:
                raise AssertionError(f"submission {sid} never reached {target}: {hist}")
            self.emulator.control.advance_clock(step)
            waited += step


def launch_sid(location: str) -> int:
    """The id of a launch redirect: ``submission_id=`` first, else the ``fname`` suffix."""
    query = parse_qs(urlparse(location).query)
    if "submission_id" in query:
        return int(query["submission_id"][0])
    return int(query["fname"][0].rsplit("_", 1)[1])


def make_ini(
    name: str,
    *,
    stages: tuple[str, ...] = ("s1", "s2"),
    chain: bool = True,
    split: str = "None",
    dataset: str = "ds_test",
    completion_type: str = "complete",
    jt: str | None = None,
    ls: str | None = None,
    role: str = "Production",
    extra_stage: str = "",
) -> str:
    """A campaign whose stages form a chain (each depends on the previous one) unless ``chain=False``."""
    jt = jt or f"jt_{name}"
    ls = ls or f"ls_{name}"
    out = [
        "[campaign]",
        f"name={name}",
        "",
        "[campaign_defaults]",
        f"vo_role={role}",
        "software_version=v2_3",
        f"dataset_or_split_data={dataset}",
        f"cs_split_type={split}",
        f"completion_type={completion_type}",
        "completion_pct=95",
        "param_overrides=[]",
        'test_param_overrides=[["--events=","10"]]',
        f"login_setup={ls}",
        f"job_type={jt}",
        "",
    ]
    for i, st in enumerate(stages):
        out += [f"[campaign_stage {st}]", f'param_overrides=[["--step=","{st}"]]', extra_stage, ""]
        if chain and i > 0:
            out += [f"[dependencies {st}]", f"campaign_stage_1={stages[i - 1]}", "file_pattern_1=%%.root", ""]
    out += [
        f"[login_setup {ls}]",
        "host=testgpvm01.fnal.gov",
        "account=testpro",
        "setup=source setup.sh",
        "",
        f"[job_type {jt}]",
        "launch_script=submit.sh --version %(version)s",
        "parameters=[]",
        "output_file_patterns=%%.root",
        'recoveries=[["consumed_status",[["-Osubmit.memory=","4000MB"]]]]',
        "",
    ]
    return "\n".join(out)
