"""Uploaded files, session defaults, the headers probe, launch logs and the auth page."""

from __future__ import annotations

import base64
from typing import Any

from .dispatch import Env, Upload, poms_method
from .errors import HTTPError, Redirect
from .model import T_EXPERIMENTERS, T_UPLOADS, Record
from .timefmt import utc_iso


def _key(env: Env, name: str) -> str:
    return f"{env.experiment}/{env.username}/{name}"


def _user_files(env: Env, user: str | None = None) -> list[Record]:
    who = user or env.username
    return sorted(
        (r for r in env.db.values(T_UPLOADS) if r["username"] == who and r["experiment"] == env.experiment),
        key=lambda r: r["filename"],
    )


@poms_method(
    p=[{"p": "can_modify", "t": "Experimenter", "item_id": "username"}],
    rtype="redirect",
    redirect="%(poms_path)s/file_uploads/%(experiment)s/%(role)s/%(username)s",
    need_er=True,
)
def upload_file(
    env: Env, filename: Any = None, experiment: Any = None, role: Any = None, **kwargs: Any
) -> str:
    if filename is None:
        raise KeyError("filename")
    parts = filename if isinstance(filename, list) else [filename]
    used = sum(r["size"] for r in _user_files(env))
    for part in parts:
        if not isinstance(part, Upload):
            raise AttributeError("'str' object has no attribute 'file'")
        used += len(part.data)
        if used > env.db.settings.upload_quota:
            raise HTTPError(400, "Upload exeeds quota")
        name = part.filename.rsplit("/", 1)[-1]
        env.db.put(
            T_UPLOADS,
            _key(env, name),
            {
                "experiment": env.experiment,
                "username": env.username,
                "filename": name,
                "size": len(part.data),
                "mtime": env.db.now(),
                "data": base64.b64encode(part.data).decode(),
            },
        )
    return "Ok."


@poms_method(
    p=[{"p": "can_modify", "t": "Experimenter", "item_id": "username"}],
    rtype="redirect",
    redirect="%(poms_path)s/file_uploads/%(experiment)s/%(role)s/%(username)s",
)
def remove_uploaded_files(env: Env, filename: Any = None, action: Any = None, **kwargs: Any) -> str:
    names = filename if isinstance(filename, list) else [filename]
    for name in names:
        if name is not None:
            env.db.delete(T_UPLOADS, _key(env, str(name)))
    return "Ok."


@poms_method(p=[{"p": "can_modify", "t": "Experimenter", "item_id": "username"}], rtype="text")
def download_file(env: Env, filename: Any = None, **kwargs: Any) -> str:
    rec = env.db.get(T_UPLOADS, _key(env, str(filename)))
    if rec is None:
        raise HTTPError(404, f"File not found: {filename}")
    return base64.b64decode(rec["data"]).decode("utf-8", errors="replace")


def _uploads_view(env: Env, checkuser: Any) -> dict[str, Any]:
    files = _user_files(env, str(checkuser) if checkuser else None)
    return {
        "file_stat_list": [[r["filename"], r["size"], utc_iso(r["mtime"]) + "Z"] for r in files],
        "total": sum(r["size"] for r in files),
        "experimenters": sorted(
            r["username"] for r in env.db.values(T_EXPERIMENTERS) if r["username"] != "poms"
        ),
        "quota": env.db.settings.upload_quota,
    }


@poms_method(p=[{"p": "can_view", "t": "Experimenter", "item_id": "username"}])
def file_uploads(env: Env, checkuser: Any = None, user: Any = None, **kwargs: Any) -> dict[str, Any]:
    if env.role == "production":
        raise Redirect(f"{env.path}/index")
    return _uploads_view(env, checkuser)


@poms_method(rtype="json", p=[{"p": "can_view", "t": "Experimenter", "item_id": "username"}])
def file_uploads_json(env: Env, checkuser: Any = None, user: Any = None) -> dict[str, Any]:
    return _uploads_view(env, checkuser)


@poms_method()
def headers(env: Env, **kwargs: Any) -> str:
    """Repr of the request headers (an auth probe); the Authorization value is masked."""
    shown = {}
    for k, v in env.headers:
        name = "-".join(p.capitalize() for p in k.split("-"))
        shown[name] = "<masked>" if k.lower() == "authorization" else v
    shown["X-Shib-Userid"] = env.username
    return repr(shown)


def _save_session(env: Env, **changes: Any) -> None:
    rec = env.db.experimenter(env.username)
    rec.update(changes)
    env.db.put(T_EXPERIMENTERS, env.username, rec)


@poms_method()
def update_session_experiment(env: Env, session_experiment: Any = None, **kwargs: Any) -> None:
    exp = str(session_experiment or env.experiment)
    member = env.db.membership(env.username, exp)
    if not member and not env.acting.is_superuser():
        raise PermissionError(f"username {env.username} is not in experiment {exp}")
    _save_session(env, session_experiment=exp, session_role=member or env.role)
    raise Redirect(f"{env.path}/index/{exp}/{member or env.role}")


@poms_method()
def update_session_role(env: Env, session_role: Any = None, **kwargs: Any) -> None:
    env.acting.role = str(session_role)
    env.acting.check_experiment_role()
    _save_session(env, session_role=str(session_role))
    raise Redirect(f"{env.path}/index/{env.experiment}/{session_role}")


@poms_method()
def index(env: Env, **kwargs: Any) -> str:
    return f"POMS emulator: {env.username} acting in {env.experiment} as {env.role}"


@poms_method(p=[{"p": "can_view", "t": "CampaignStage", "item_id": "campaign_stage_id"}])
def list_launch_file(
    env: Env,
    campaign_stage_id: Any = None,
    fname: Any = None,
    submission_id: Any = None,
    login_setup_id: Any = None,
) -> dict[str, Any]:
    """The launch log a launch redirect points at."""
    sid = submission_id or (str(fname).rsplit("_", 1)[-1] if fname else None)
    sub = env.db.submission(sid)
    stage = env.db.stage(campaign_stage_id) or {}
    camp = env.db.campaign(stage.get("campaign_id")) or {}
    lines = []
    if sub is not None:
        lines = [
            f"== process_id: {40000 + sub['submission_id']} ==",
            sub.get("command_executed") or "",
            f"== completed: {1 if sub.get('jobsub_job_id') else 0} ==",
        ]
    return {
        "lines": lines,
        "do_refresh": 0 if sub and sub.get("jobsub_job_id") else 10,
        "campaign_name": camp.get("name"),
        "stage_name": stage.get("name"),
    }


@poms_method(name="auth")
def auth(env: Env, redir: Any = None, **kwargs: Any) -> str:
    return (
        "Your credentials for launching are missing or stale: upload a vault token with "
        f"`upload_file --vaulttoken`, then continue to {redir or env.path}."
    )
