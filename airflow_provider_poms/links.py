"""Extra links: the POMS submission and campaign stage pages, the ReqMgr2 request page.

In Airflow 3 links are computed on the worker after each attempt (``task_runner.finalize`` calls
``get_link`` and stores the URL under ``link.xcom_key``); the API server only reads that XCom. So the
operators build the URL from the connection's host (``hook.submission_url`` / ``campaign_stage_url``
/ ``request_url``) while they run and push it to XCom under :attr:`url_key`; ``get_link`` reads it
back (databricks/dbt-cloud style). A task that never got as far as an id simply has no link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey


class _PushedUrlLink(BaseOperatorLink):
    """A link whose URL the operator pushed to XCom under ``url_key`` during execute."""

    url_key: ClassVar[str] = ""

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        url = XCom.get_value(key=self.url_key, ti_key=ti_key)
        return str(url) if url else ""

    @classmethod
    def persist(cls, context: Context, url: str | None, log: Any = None) -> None:
        """Push the URL (and log it, so the link is in the task log too)."""
        if not url:
            return
        context["ti"].xcom_push(key=cls.url_key, value=url)
        if log is not None:
            log.info("%s: %s", cls.__name__.removesuffix("Link"), url)


class PomsSubmissionLink(_PushedUrlLink):
    """The POMS page of the submission a task launched or watches."""

    name = "POMS submission"
    url_key = "poms_submission_url"


class PomsCampaignStageLink(_PushedUrlLink):
    """The POMS page of the campaign stage a task launched."""

    name = "POMS campaign stage"
    url_key = "poms_campaign_stage_url"


class ReqMgr2RequestLink(_PushedUrlLink):
    """The ReqMgr2 web page of the request a task created, changed or watches."""

    name = "ReqMgr2 request"
    url_key = "reqmgr2_request_url"
