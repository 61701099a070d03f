"""The ``@poms_method`` machinery: request -> kwargs + context -> checks -> handler -> response.

Mirrors POMS' decorator: any verb, query and body merged, path form ``/<method>/<exp>/<role>/<user>``,
context fields lifted out of the kwargs, permission specs evaluated against kwargs, handler called
with its real Python signature (so a missing or unexpected parameter is the same TypeError -> 400
as on the real server), then JSON (kwargs echoed), redirect (303, absolute) or text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from .errors import Redirect, UnknownUser, rewrite
from .model import Db, store_lock
from .perms import Acting

CTX_KEYS = ("experiment", "role", "tmin", "tmax", "tdays")


class Upload:
    """An uploaded multipart part (CherryPy ``Part``); JSON shows it as ``<uploaded_file_data>``."""

    def __init__(self, filename: str, data: bytes) -> None:
        self.filename = filename
        self.data = data

    def __repr__(self) -> str:
        return "<uploaded_file_data>"


@dataclass
class Env:
    """POMS' Ctx: who acts, in which experiment and role, the time window, and the request."""

    db: Db
    acting: Acting
    tmin: str | None
    tmax: str | None
    tdays: str | None
    headers: list[tuple[str, str]]
    base: str  # scheme://host:port
    path: str  # mount path, "/poms"
    method_name: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def username(self) -> str:
        return self.acting.username

    @property
    def experiment(self) -> str | None:
        return self.acting.experiment

    @property
    def role(self) -> str | None:
        return self.acting.role

    def absolute(self, location: str) -> str:
        if location.startswith(("http://", "https://")):
            return location
        return self.base + location


Handler = Callable[..., Any]


@dataclass(frozen=True)
class Method:
    name: str
    func: Handler
    rtype: str = "html"  # html | json | redirect | text | ini
    perms: tuple[dict[str, str], ...] = ()
    redirect: str | Callable[[Env], str] | None = None
    need_er: bool = False


METHODS: dict[str, Method] = {}


def poms_method(
    *,
    rtype: str = "html",
    p: tuple[dict[str, str], ...] | list[dict[str, str]] = (),
    redirect: str | Callable[[Env], str] | None = None,
    need_er: bool = False,
    name: str | None = None,
) -> Callable[[Handler], Handler]:
    """Register a handler under its POMS method name (the function name unless ``name``)."""

    def deco(func: Handler) -> Handler:
        mname = name or func.__name__
        METHODS[mname] = Method(mname, func, rtype, tuple(p), redirect, need_er)
        return func

    return deco


class JsonEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Upload):
            return "<uploaded_file_data>"
        if isinstance(o, (set, tuple)):
            return list(o)
        return super().default(o)


def to_json(obj: Any) -> bytes:
    return json.dumps(obj, cls=JsonEncoder).encode("utf-8")


async def read_params(request: Request) -> dict[str, Any]:
    """Query string and body (form-encoded or multipart) merged; repeated keys become lists."""
    items: list[tuple[str, Any]] = list(request.query_params.multi_items())
    ctype = request.headers.get("content-type", "")
    if request.method not in ("GET", "HEAD") and (
        ctype.startswith("application/x-www-form-urlencoded") or ctype.startswith("multipart/form-data")
    ):
        form = await request.form(max_files=100, max_fields=10000)
        for key, val in form.multi_items():
            if isinstance(val, UploadFile):
                items.append((key, Upload(val.filename or "", await val.read())))
            else:
                items.append((key, val))
    out: dict[str, Any] = {}
    for key, val in items:
        if key in out:
            prev = out[key]
            out[key] = [*prev, val] if isinstance(prev, list) else [prev, val]
        else:
            out[key] = val
    return out


def _param_str(val: Any) -> str | None:
    if isinstance(val, list):
        val = val[-1] if val else None
    return None if val is None else str(val)


def _text_response(status: int, text: str, ctype: str = "text/plain; charset=utf-8") -> Response:
    return Response(
        text.encode("utf-8"), status_code=status, media_type=None, headers={"Content-Type": ctype}
    )


def run_method(request: Request, ctx: Any, mname: str, args: list[str], kwargs: dict[str, Any]) -> Response:
    """Everything after parsing: runs under the store lock (actors tick in the same store)."""
    meth = METHODS.get(mname)
    if meth is None:
        return _text_response(404, f"The path '/poms/{mname}' was not found.")
    identity = request.scope.get("emulator.identity")
    login = getattr(identity, "login", None)
    if not login:
        return _text_response(
            500, "500 Internal Server Error: no experimenter for this request (unknown user)", "text/html"
        )
    with store_lock(ctx):
        db = Db(ctx)
        try:
            return _run_locked(request, db, meth, str(login), args, kwargs)
        except UnknownUser as exc:
            return _text_response(500, f"500 Internal Server Error: {exc}", "text/html")


def _run_locked(
    request: Request, db: Db, meth: Method, login: str, args: list[str], kwargs: dict[str, Any]
) -> Response:
    user = db.experimenter(login)
    for i, val in enumerate(args[:3]):
        kwargs[("experiment", "role", "user")[i]] = val
    cargs = {k: _param_str(kwargs.get(k)) for k in CTX_KEYS}
    # Ctx: path (>= 4 parts) -> parameters -> saved session values.
    experiment = cargs["experiment"] or user.get("session_experiment")
    role = cargs["role"] or user.get("session_role")
    for k in CTX_KEYS:
        if k in kwargs and not (meth.need_er and k in ("experiment", "role")):
            del kwargs[k]
    acting = Acting(db, login, experiment, role)
    url = request.url
    env = Env(
        db=db,
        acting=acting,
        tmin=cargs["tmin"],
        tmax=cargs["tmax"],
        tdays=cargs["tdays"],
        headers=[(k, v) for k, v in request.headers.items()],
        base=f"{url.scheme}://{url.netloc}",
        path=str(request.scope.get("root_path") or "/poms").rstrip("/") or "/poms",
        method_name=meth.name,
        extra={"url": str(request.url)},
    )
    try:
        for perm in meth.perms:
            pargs = {}
            for k, v in perm.items():
                if k in ("p", "t"):
                    continue
                fallback = getattr(acting, v, None) if v in ("experiment", "role", "username") else None
                pargs[k] = kwargs.get(v, fallback)
            acting.check(perm["p"], perm.get("t", ""), **pargs)
        redirflag = kwargs.pop("redirect", None)
        fmtflag = kwargs.pop("fmt", "") or ""
        values = meth.func(env, **kwargs)
    except Redirect as red:
        return Response(status_code=303, headers={"Location": env.absolute(red.location)})
    except UnknownUser:
        raise
    except Exception as exc:
        status, text = rewrite(exc)
        return _text_response(status, text)
    if isinstance(values, dict):
        merged = dict(kwargs)
        merged.update(values)
        values = merged
    headers = {"Content-Language": "en"}
    if fmtflag == "json" or meth.rtype == "json":
        return Response(
            to_json(values), status_code=200, headers={**headers, "Content-Type": "application/json"}
        )
    if meth.rtype == "redirect" and _param_str(redirflag) != "0" and meth.redirect:
        redict = dict(values) if isinstance(values, dict) else dict(kwargs)
        redict.update(
            poms_path=env.path,
            hostname=request.url.hostname or "localhost",
            experiment=acting.experiment,
            role=acting.role,
            username=login,
        )
        template = meth.redirect(env) if callable(meth.redirect) else meth.redirect
        return Response(status_code=303, headers={**headers, "Location": env.absolute(template % redict)})
    if meth.rtype == "ini":
        return Response(
            str(values).encode(), status_code=200, headers={**headers, "Content-Type": "text/ini"}
        )
    if isinstance(values, (dict, list)):
        return Response(
            to_json(values), status_code=200, headers={**headers, "Content-Type": "application/json"}
        )
    ctype = "text/html" if meth.rtype in ("html", "redirect") else "text/plain"
    text = "" if values is None else str(values)
    return Response(text.encode("utf-8"), status_code=200, headers={**headers, "Content-Type": ctype})
