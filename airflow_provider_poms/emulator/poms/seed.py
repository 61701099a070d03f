"""Demo data created on first start (and again after a store reset).

Experiment ``samdev``: campaign ``demo_campaign`` with ``stage1`` and ``stage2`` (stage2 depends on
stage1 through a file pattern), job type ``demo_job``, login setup ``demo_login``; owned by the
operator identity (production role), so a fresh emulator can launch something at once.
"""

from __future__ import annotations

from .ini import save_campaign
from .model import T_CAMPAIGNS, Db
from .perms import Acting

DEMO_INI = """\
[campaign]
name=demo_campaign

[campaign_defaults]
vo_role=Production
software_version=v1_0
dataset_or_split_data=demo_dataset
cs_split_type=None
completion_type=complete
completion_pct=95
param_overrides=[]
test_param_overrides=[["--events=","10"]]
login_setup=demo_login
job_type=demo_job

[campaign_stage stage1]
param_overrides=[["--step=","gen"]]

[campaign_stage stage2]
dataset_or_split_data=from_parent
param_overrides=[["--step=","reco"]]

[dependencies stage2]
campaign_stage_1=stage1
file_pattern_1=%%.root

[login_setup demo_login]
host=samdevgpvm01.fnal.gov
account=samdevpro
setup=source /grid/fermiapp/products/common/etc/setups; setup fife_utils

[job_type demo_job]
launch_script=fife_launch -c demo.cfg
parameters=[["-Oglobal.version=","%(version)s"]]
output_file_patterns=%%.root
recoveries=[["consumed_status",[["-Osubmit.memory=","2000MB"]]]]
"""


def _owner(db: Db) -> str | None:
    idents = dict(getattr(db.ctx, "identities", {}) or {})
    if "operator" in idents:
        return "operator"
    for login, ident in idents.items():
        if dict(getattr(ident, "poms_experiments", {}) or {}).get("samdev") == "production":
            return str(login)
    return None


def ensure_seeded(db: Db) -> None:
    """Idempotent: runs once per (fresh or reset) store."""
    if db.meta("seeded"):
        return
    db.set_meta("seeded", True)
    owner = _owner(db)
    if owner is None or db.find_campaign("samdev", "demo_campaign") is not None:
        return
    db.experimenter("poms")
    save_campaign(db, Acting(db, owner, "samdev", "production"), DEMO_INI)
    assert db.find_campaign("samdev", "demo_campaign") is not None, T_CAMPAIGNS
