"""The two GUI pages the provider's extra links point at, so that a link clicked in Airflow opens.

Real POMS and ReqMgr2 render rich pages here; the emulator renders a small HTML summary of the same
object (name, status, history), which is all a link check or a person following it needs. The
submission link (``/poms/submission_details/...``) is served by the POMS service itself.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from airflow_provider_poms.emulator.core import EmulatorContext


def _page(
    title: str,
    rows: Iterable[tuple[str, Any]],
    table: Sequence[Sequence[Any]] = (),
    headings: Sequence[str] = (),
) -> str:
    esc = html.escape
    facts = "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in rows)
    body = f"<h1>{esc(title)}</h1><table class='facts'>{facts}</table>"
    if table:
        head = "".join(f"<th>{esc(h)}</th>" for h in headings)
        lines = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in table)
        body += f"<table class='history'><tr>{head}</tr>{lines}</table>"
    return f"<!DOCTYPE html><html><head><title>{esc(title)}</title></head><body>{body}</body></html>"


def _not_found(what: str) -> HTMLResponse:
    return HTMLResponse(_page("Not found", [("error", what)]), status_code=404)


def routes(ctx: EmulatorContext) -> list[Route]:
    """Routes mounted ahead of the services (they sit under the services' own prefixes)."""

    async def request_page(request: Request) -> HTMLResponse:
        from airflow_provider_poms.emulator.reqmgr2.service import get_service

        name = request.query_params.get("rid", "")
        doc = get_service(ctx).repo.get(name) if name else None
        if doc is None:
            return _not_found(f"no request named {name!r}")
        history = [
            (step.get("Status"), step.get("UpdateTime"), step.get("DN"))
            for step in doc.get("RequestTransition", [])
        ]
        facts = [
            (key, doc.get(key, ""))
            for key in (
                "RequestName",
                "RequestStatus",
                "RequestType",
                "RequestPriority",
                "Campaign",
                "Requestor",
            )
        ]
        return HTMLResponse(_page(name, facts, history, ("Status", "UpdateTime", "DN")))

    async def stage_page(request: Request) -> HTMLResponse:
        from airflow_provider_poms.emulator.poms.model import Db

        db = Db(ctx)
        stage = db.stage(request.query_params.get("campaign_stage_id"))
        if stage is None:
            return _not_found("no such campaign stage")
        subs = db.submissions_of_stage(int(stage["campaign_stage_id"]))
        table = [(s.get("submission_id"), s.get("status"), s.get("created")) for s in subs]
        facts = [
            (key, stage.get(key, "")) for key in ("campaign_stage_id", "name", "campaign_id", "experiment")
        ]
        return HTMLResponse(
            _page(
                f"Campaign stage {stage.get('name', '')}",
                facts,
                table,
                ("submission_id", "status", "created"),
            )
        )

    return [
        Route("/reqmgr2/fetch", request_page),
        Route("/poms/campaign_stage_info/{experiment}/{role}", stage_page),
    ]
