"""The campaign ``.ini`` workflow format: upload (``ini_to_campaign``) and export (``campaign_deps_ini``).

Upload follows ``CampaignsPOMS.save_campaign`` (reference section 16.3): the campaign and its
stages are saved in the experiment and role of the request, an existing campaign is updated
(stages matched by name, missing ones detached, dependencies rebuilt), job types and login setups
are created only when new, and logical problems come back as ``"400 Bad Request"`` with HTTP 200.
"""

from __future__ import annotations

import ast
import configparser
import json
from typing import Any

from .model import T_CAMPAIGNS, T_DEPS, T_JOB_TYPES, T_LOGIN_SETUPS, T_STAGES, Db, Record
from .perms import Acting

REQUIRED = (
    "vo_role",
    "software_version",
    "dataset_or_split_data",
    "completion_type",
    "completion_pct",
    "job_type",
    "login_setup",
)
STAGE_KEYS = (
    *REQUIRED,
    "cs_split_type",
    "param_overrides",
    "test_param_overrides",
    "merge_overrides",
    "stage_type",
    "output_ancestor_depth",
    "default_clear_cronjob",
    "state",
    "test_split_type",
)


def parse_pairs(text: Any, what: str) -> list[list[str]]:
    """A JSON (or Python literal) list of ``[key, value]`` pairs."""
    if text in (None, ""):
        return []
    if isinstance(text, list):
        return [[str(a), str(b)] for a, b in text]
    try:
        val = json.loads(text)
    except ValueError:
        try:
            val = ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise ValueError(f"{what}: not a list of pairs: {text!r}") from exc
    if not isinstance(val, (list, tuple)):
        raise ValueError(f"{what}: not a list of pairs: {text!r}")
    return [[str(p[0]), str(p[1])] for p in val]


def _bool(val: Any, default: bool) -> bool:
    if val in (None, ""):
        return default
    return str(val).strip().lower() in ("true", "1", "yes", "y", "t")


def read_ini(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return {section: dict(parser.items(section)) for section in parser.sections()}


def save_campaign(db: Db, acting: Acting, text: str) -> dict[str, Any]:
    """Upload a .ini file; returns the body of ``ini_to_campaign`` (before the kwargs echo)."""
    try:
        cfg = read_ini(text)
    except configparser.Error:
        return {"status": "400 Bad Request", "message": "Bad file format"}
    camp_s = cfg.get("campaign")
    if camp_s is None:
        return {"status": "400 Bad Request", "message": "No Campaign section in the file"}
    name = camp_s["name"]  # KeyError -> 400 Missing form field, as on the real server
    stage_sections = [k for k in cfg if k.startswith("campaign_stage ")]
    if not stage_sections:
        return {"status": "400 Bad Request", "message": "No Campaign Stage sections in the file"}
    acting.can_view("Campaign", name=name)
    acting.can_modify("Campaign", name=name)
    exp, role = acting.experiment, acting.role
    me = db.experimenter(acting.username)["experimenter_id"]
    now = db.now()
    warnings: list[str] = []
    errors: list[str] = []

    # job types and login setups: created only when new
    for section, body in cfg.items():
        kind, _, obj_name = section.partition(" ")
        if kind == "job_type" and obj_name:
            if db.find_job_type(None, obj_name) is not None:
                warnings.append(f"JobType '{obj_name}' already exists and will not change.")
                continue
            jid = db.next_id(T_JOB_TYPES)
            try:
                recoveries = [
                    [str(r[0]), parse_pairs(r[1], "recoveries")]
                    for r in (json.loads(body.get("recoveries") or "[]"))
                ]
                params = parse_pairs(body.get("parameters"), "parameters")
            except (ValueError, IndexError, TypeError) as exc:
                errors.append(f"JobType '{obj_name}': {exc}")
                continue
            db.put(
                T_JOB_TYPES,
                jid,
                {
                    "job_type_id": jid,
                    "name": obj_name,
                    "experiment": exp,
                    "launch_script": body.get("launch_script", ""),
                    "definition_parameters": params,
                    "output_file_patterns": body.get("output_file_patterns", "%"),
                    "creator": me,
                    "created": now,
                    "updater": None,
                    "updated": None,
                    "creator_role": role,
                    "active": True,
                    "recoveries": recoveries,
                },
            )
        elif kind == "login_setup" and obj_name:
            if db.find_login_setup(None, obj_name) is not None:
                warnings.append(f"LoginSetup '{obj_name}' already exists and will not change.")
                continue
            lid = db.next_id(T_LOGIN_SETUPS)
            db.put(
                T_LOGIN_SETUPS,
                lid,
                {
                    "login_setup_id": lid,
                    "name": obj_name,
                    "experiment": exp,
                    "launch_host": body.get("host", ""),
                    "launch_account": body.get("account", ""),
                    "launch_setup": body.get("setup", ""),
                    "creator": me,
                    "created": now,
                    "updater": None,
                    "updated": None,
                    "creator_role": role,
                    "active": True,
                },
            )

    defaults = dict(cfg.get("campaign_defaults", {}))
    camp = db.find_campaign(exp, name)
    keywords = defaults.get("campaign_keywords")
    if camp is None:
        cid = db.next_id(T_CAMPAIGNS)
        camp = {
            "campaign_id": cid,
            "experiment": exp,
            "name": name,
            "active": True,
            "creator": me,
            "creator_role": role,
            "campaign_type": None,
            "tag_ids": [],
        }
    camp["defaults"] = {"defaults": defaults, "positions": {}}
    camp["campaign_keywords"] = json.loads(keywords) if keywords and keywords.startswith("{") else keywords
    db.put(T_CAMPAIGNS, camp["campaign_id"], camp)
    cid = camp["campaign_id"]

    existing = {s["name"]: s for s in db.stages_of(cid)}
    kept: list[list[Any]] = []
    for section in stage_sections:
        sname = section.split(" ", 1)[1]
        form = cfg[section]
        vals = {k: (form.get(k) if form.get(k) not in (None, "") else defaults.get(k)) for k in STAGE_KEYS}
        missing = [k for k in REQUIRED if vals.get(k) in (None, "")]
        if missing:
            errors.append(f"Stage '{sname}': missing {', '.join(missing)}")
            continue
        jt_name, ls_name = str(vals["job_type"]), str(vals["login_setup"])
        jt = db.find_job_type(exp, jt_name) or db.find_job_type("samdev", jt_name)
        ls = db.find_login_setup(exp, ls_name) or db.find_login_setup("samdev", ls_name)
        if jt is None:
            errors.append(f"Stage '{sname}': JobType '{vals['job_type']}' not found")
        if ls is None:
            errors.append(f"Stage '{sname}': LoginSetup '{vals['login_setup']}' not found")
        if jt is None or ls is None:
            continue
        try:
            overrides = parse_pairs(vals.get("param_overrides"), "param_overrides")
            test_overrides = parse_pairs(vals.get("test_param_overrides"), "test_param_overrides")
            pct = int(float(str(vals["completion_pct"])))
        except ValueError as exc:
            errors.append(f"Stage '{sname}': {exc}")
            continue
        stage = existing.get(sname)
        if stage is None:
            csid = db.next_id(T_STAGES)
            stage = {
                "campaign_stage_id": csid,
                "experiment": exp,
                "name": sname,
                "creator": me,
                "created": now,
                "creator_role": role,
                "cs_last_split": None,
                "hold_experimenter_id": None,
                "role_held_with": None,
                "campaign_id": cid,
            }
        split = vals.get("cs_split_type") or "None"
        dataset = vals["dataset_or_split_data"]
        stage.update(
            {
                "job_type_id": jt["job_type_id"],
                "login_setup_id": ls["login_setup_id"],
                "updater": me,
                "updated": now,
                "vo_role": vals["vo_role"],
                "cs_split_type": split,
                "cs_split_dimensions": dataset if split not in ("None", "") else None,
                "dataset": dataset,
                "software_version": vals["software_version"],
                "param_overrides": overrides,
                "test_param_overrides": test_overrides,
                "test_split_type": vals.get("test_split_type"),
                "completion_type": vals["completion_type"],
                "completion_pct": pct,
                "campaign_stage_type": vals.get("stage_type") or "regular",
                "merge_overrides": _bool(vals.get("merge_overrides"), False),
                "output_ancestor_depth": int(vals.get("output_ancestor_depth") or 1),
                "default_clear_cronjob": _bool(vals.get("default_clear_cronjob"), True),
                "campaign_id": cid,
            }
        )
        db.put(T_STAGES, stage["campaign_stage_id"], stage)
        kept.append([stage["campaign_stage_id"], sname])
    listed = {n for _, n in kept} | {s.split(" ", 1)[1] for s in stage_sections}
    for sname, stage in existing.items():
        if sname not in listed:
            stage["campaign_id"] = None  # detached, not deleted
            db.put(T_STAGES, stage["campaign_stage_id"], stage)

    # dependencies: deleted and rebuilt from scratch
    by_name = {s["name"]: s for s in db.stages_of(cid)}
    ids = {s["campaign_stage_id"] for s in by_name.values()}
    for key, dep in list(db.t(T_DEPS).items()):
        if dep["provides_campaign_stage_id"] in ids or dep["needs_campaign_stage_id"] in ids:
            db.delete(T_DEPS, key)
    for section, body in cfg.items():
        if not section.startswith("dependencies "):
            continue
        down = by_name.get(section.split(" ", 1)[1])
        for key, upstream in body.items():
            if not key.startswith("campaign_stage_"):
                continue
            sfx = key.rsplit("_", 1)[1]
            up = by_name.get(upstream)
            if down is None or up is None:
                errors.append(
                    f"Dependency '{section}': unknown stage '{upstream if up is None else section}'"
                )
                continue
            did = db.next_id(T_DEPS)
            db.put(
                T_DEPS,
                did,
                {
                    "campaign_dep_id": did,
                    "needs_campaign_stage_id": up["campaign_stage_id"],
                    "provides_campaign_stage_id": down["campaign_stage_id"],
                    "file_patterns": body.get(f"file_pattern_{sfx}", "%"),
                },
            )
    if errors:
        return {"status": "400 Bad Request", "message": errors + warnings}
    return {
        "status": "201 Created",
        "message": warnings or "OK",
        "campaign_id": cid,
        "campaign_stage_ids": kept,
    }


def _pairs_text(pairs: Any) -> str:
    return json.dumps(pairs or [])


def export_ini(db: Db, camp: Record, full: bool = False) -> str:
    """``campaign_deps_ini``: the inverse of the upload (feeds back into ini_to_campaign)."""
    stages = db.stages_of(camp["campaign_id"])
    keywords = camp.get("campaign_keywords")
    out: list[str] = [
        "[campaign]",
        f"experiment={camp['experiment']}",
        f"poms_role={camp.get('creator_role')}",
        f"name={camp['name']}",
        f"state={'Active' if camp.get('active') else 'Inactive'}",
        f"campaign_keywords={json.dumps(keywords) if keywords else ''}",
        f"campaign_stage_list={','.join(s['name'] for s in stages)}",
        "",
        "[campaign_defaults]",
    ]
    for k, v in ((camp.get("defaults") or {}).get("defaults") or {}).items():
        out.append(f"{k}={v}")
    out.append("")
    jts: dict[int, Record] = {}
    lss: dict[int, Record] = {}
    for s in stages:
        jt = db.job_type(s.get("job_type_id"))
        ls = db.login_setup(s.get("login_setup_id"))
        if jt:
            jts[jt["job_type_id"]] = jt
        if ls:
            lss[ls["login_setup_id"]] = ls
        out += [
            f"[campaign_stage {s['name']}]",
            f"vo_role={s.get('vo_role')}",
            f"software_version={s.get('software_version')}",
            f"dataset_or_split_data={s.get('dataset')}",
            f"cs_split_type={s.get('cs_split_type')}",
            f"completion_type={s.get('completion_type')}",
            f"completion_pct={s.get('completion_pct')}",
            f"param_overrides={_pairs_text(s.get('param_overrides'))}",
            f"test_param_overrides={_pairs_text(s.get('test_param_overrides'))}",
            f"merge_overrides={s.get('merge_overrides')}",
            f"login_setup={ls['name'] if ls else ''}",
            f"job_type={jt['name'] if jt else ''}",
            f"stage_type={s.get('campaign_stage_type')}",
            f"output_ancestor_depth={s.get('output_ancestor_depth')}",
            f"default_clear_cronjob={s.get('default_clear_cronjob')}",
            "",
        ]
    for s in stages:
        deps = db.deps_into(s["campaign_stage_id"])
        if not deps:
            continue
        out.append(f"[dependencies {s['name']}]")
        for i, d in enumerate(sorted(deps, key=lambda d: d["campaign_dep_id"]), start=1):
            up = db.stage(d["needs_campaign_stage_id"]) or {}
            out.append(f"campaign_stage_{i}={up.get('name')}")
            out.append(f"file_pattern_{i}={d.get('file_patterns')}")
        out.append("")
    for ls in lss.values():
        out += [
            f"[login_setup {ls['name']}]",
            f"host={ls['launch_host']}",
            f"account={ls['launch_account']}",
            f"setup={ls['launch_setup']}",
            "",
        ]
    for jt in jts.values():
        recs = [[r[0], r[1]] for r in jt.get("recoveries") or []]
        out += [
            f"[job_type {jt['name']}]",
            f"launch_script={jt['launch_script']}",
            f"parameters={_pairs_text(jt.get('definition_parameters'))}",
            f"output_file_patterns={jt.get('output_file_patterns')}",
            f"recoveries={json.dumps(recs)}",
            "",
        ]
    if full:
        out += ["[node_positions]"]
        out += [f'{s["name"]}={{"x": {100 * i}, "y": 100}}' for i, s in enumerate(stages)]
        out.append("")
    return "\n".join(out)
