"""ReqMgr2 server configuration for the conformance tier (a WMCore ``Configuration`` file).

Written by this project from the documented key set (see docs/conformance.md); every value that
depends on the run (ports, store URL, key path) comes from an environment variable set by the
harness, so one file serves every session. Authorization follows the production map (admin / ops /
ppd levels chosen by the target status), with the production role and group names.
"""

import os

from WMCore.Configuration import Configuration

ENV = os.environ
COUCH = ENV["CONFORMANCE_COUCH_URL"]
STUB = ENV["CONFORMANCE_STUB_URL"]

config = Configuration()

main = config.section_("main")
main.application = "reqmgr2"
main.port = int(ENV["CONFORMANCE_REQMGR2_PORT"])
main.index = "ui"
main.authz_defaults = {"role": None, "group": None, "site": None}
server = main.section_("server")
server.thread_pool = 5
server.socket_host = "127.0.0.1"
server.environment = "staging"
cms_auth = main.section_("tools").section_("cms_auth")
cms_auth.key_file = ENV["CONFORMANCE_HMAC_KEY"]
cms_auth.policy = "user"

app = config.section_("reqmgr2")
app.admin = "conformance@localhost"
app.description = "ReqMgr2 under the airflow-provider-poms conformance tier"
app.title = "ReqMgr2 (conformance)"

views = config.section_("views")
data = views.section_("data")
data.object = "WMCore.ReqMgr.Service.RestApiHub.RestApiHub"
data.couch_host = COUCH
data.couch_reqmgr_db = "reqmgr_workload_cache"
data.couch_reqmgr_aux_db = "reqmgr_auxiliary"
data.couch_config_cache_db = "reqmgr_config_cache"
data.couch_workload_summary_db = "workloadsummary"
data.couch_wmstats_db = "wmstats"
data.couch_wmdatamining_db = "wmdatamining"
data.couch_acdc_db = "acdcserver"
data.couch_workqueue_db = "workqueue"
data.central_logdb_url = COUCH + "/wmstats_logdb"
data.log_reporter = "request_manager"
data.default_view_requests_since_num_days = 30
data.tag_collector_url = STUB + "/SDT/cgi-bin/ReleasesXML"
data.default_sw_version = "CMSSW_8_0_21"
data.default_sw_scramarch = "slc6_amd64_gcc530"
data.dqm_url = STUB + "/dqm"
data.dbs_url = STUB + "/dbs/prod/global/DBSReader"
data.ms_transferor_url = STUB + "/ms-transferor"

# Permission levels, each including the roles and groups of the levels above it.
_admin_roles, _admin_groups = ["admin", "developer", "web-service"], ["reqmgr", "facops"]
_ops_roles, _ops_groups = [*_admin_roles, "production-operator"], [*_admin_groups, "dataops"]
_ppd_roles, _ppd_groups = [*_ops_roles, "data-manager"], [*_ops_groups, "reqmgr"]
data.authorized_roles = {
    "admin": {"role": _admin_roles, "group": _admin_groups},
    "ops": {"role": _ops_roles, "group": _ops_groups},
    "ppd": {"role": _ppd_roles, "group": _ppd_groups},
}
data.authz_by_status = [
    {
        "permission": "admin",
        "statuses": [
            "acquired",
            "running-open",
            "running-closed",
            "completed",
            "aborted-completed",
            "failed",
            "rejected-archived",
            "aborted-archived",
            "normal-archived",
        ],
    },
    {
        "permission": "ops",
        "statuses": ["assigned", "staging", "staged", "force-complete", "closed-out", "announced"],
    },
    {"permission": "ppd", "statuses": ["new", "assignment-approved", "rejected", "aborted", "NO_STATUS"]},
]
