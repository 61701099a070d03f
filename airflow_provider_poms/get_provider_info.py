"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

The connection forms are declarative (``conn-fields``), so the UI shows them without importing
our hooks and without WTForms, as Airflow 3.2+ expects.
"""

from __future__ import annotations

from typing import Any


def _common_fields() -> dict[str, Any]:
    """Fields shared by both connection types; stored in the connection's ``extra`` JSON."""
    return {
        "client_cert": {
            "label": "Client certificate (PEM path)",
            "description": "X.509 user or service certificate. Leave empty when using a proxy or a token.",
            "schema": {"type": ["string", "null"]},
        },
        "client_key": {
            "label": "Client key (PEM path)",
            "description": "Private key of the certificate (unencrypted, readable only by the worker).",
            "schema": {"type": ["string", "null"]},
        },
        "proxy": {
            "label": "X.509 proxy (PEM path)",
            "description": "One file holding certificate and key (the X509_USER_PROXY convention).",
            "schema": {"type": ["string", "null"]},
        },
        "ca_cert": {
            "label": "CA bundle or hashed CA directory",
            "description": "Path to a PEM bundle or an X509_CERT_DIR-style directory. Empty: system CAs.",
            "schema": {"type": ["string", "null"]},
        },
        "token_file": {
            "label": "Bearer token file",
            "description": "Re-read whenever it changes (BEARER_TOKEN_FILE convention). "
            "The password field holds a literal token instead.",
            "schema": {"type": ["string", "null"]},
        },
        "verify": {
            "label": "Verify server certificate",
            "description": "Leave on. Turning it off logs a warning on every call.",
            "schema": {"type": "boolean", "default": True},
        },
        "connect_timeout": {
            "label": "Connect timeout (s)",
            "schema": {"type": "number", "default": 10, "minimum": 0.1},
        },
        "read_timeout": {
            "label": "Read timeout (s)",
            "schema": {"type": "number", "default": 120, "minimum": 0.1},
        },
        "max_retries": {
            "label": "Retries for safe calls",
            "description": "Reads and idempotent writes only; creates, clones and launches are never "
            "blindly re-sent.",
            "schema": {"type": "integer", "default": 5, "minimum": 0, "maximum": 20},
        },
        "backoff": {
            "label": "Backoff base (s)",
            "schema": {"type": "number", "default": 1.0, "minimum": 0},
        },
        "gzip": {
            "label": "Ask for gzip",
            "schema": {"type": "boolean", "default": True},
        },
        "max_response_mb": {
            "label": "Largest response (MiB, decompressed)",
            "schema": {"type": "integer", "default": 1024, "minimum": 1},
        },
    }


def get_provider_info() -> dict[str, Any]:
    poms_fields = _common_fields()
    poms_fields["experiment"] = {
        "label": "Experiment",
        "description": "Default experiment for every call (e.g. dune, nova, samdev).",
        "schema": {"type": ["string", "null"]},
    }
    poms_fields["role"] = {
        "label": "Role",
        "description": "Default role: analysis, production-shifter, production or superuser.",
        "schema": {
            "type": ["string", "null"],
            "enum": [None, "analysis", "production-shifter", "production", "superuser"],
        },
    }
    return {
        "package-name": "airflow-provider-poms",
        "name": "POMS and ReqMgr2",
        "description": "Drive Fermilab POMS campaigns and CMS ReqMgr2 requests from Airflow DAGs.",
        "integrations": [
            {"integration-name": "Fermilab POMS", "external-doc-url": "https://github.com/fermitools/poms"},
            {"integration-name": "CMS ReqMgr2", "external-doc-url": "https://github.com/dmwm/WMCore"},
        ],
        "hooks": [
            {"integration-name": "Fermilab POMS", "python-modules": ["airflow_provider_poms.hooks.poms"]},
            {"integration-name": "CMS ReqMgr2", "python-modules": ["airflow_provider_poms.hooks.reqmgr2"]},
        ],
        "operators": [
            {"integration-name": "Fermilab POMS", "python-modules": ["airflow_provider_poms.operators.poms"]},
            {
                "integration-name": "CMS ReqMgr2",
                "python-modules": ["airflow_provider_poms.operators.reqmgr2"],
            },
        ],
        "sensors": [
            {"integration-name": "Fermilab POMS", "python-modules": ["airflow_provider_poms.sensors.poms"]},
            {"integration-name": "CMS ReqMgr2", "python-modules": ["airflow_provider_poms.sensors.reqmgr2"]},
        ],
        "triggers": [
            {"integration-name": "Fermilab POMS", "python-modules": ["airflow_provider_poms.triggers.poms"]},
            {
                "integration-name": "CMS ReqMgr2",
                "python-modules": ["airflow_provider_poms.triggers.reqmgr2"],
            },
        ],
        "connection-types": [
            {
                "connection-type": "poms",
                "hook-class-name": "airflow_provider_poms.hooks.poms.PomsHook",
                "hook-name": "Fermilab POMS",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "port"],
                    "relabeling": {"host": "POMS base URL", "password": "Bearer token"},
                    "placeholders": {"host": "https://pomsgpvm01.fnal.gov:8443/poms"},
                },
                "conn-fields": poms_fields,
            },
            {
                "connection-type": "reqmgr2",
                "hook-class-name": "airflow_provider_poms.hooks.reqmgr2.ReqMgr2Hook",
                "hook-name": "CMS ReqMgr2",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "port"],
                    "relabeling": {"host": "ReqMgr2 base URL", "password": "Bearer token"},
                    "placeholders": {"host": "https://cmsweb.cern.ch:8443/reqmgr2"},
                },
                "conn-fields": _common_fields(),
            },
        ],
        "extra-links": [
            "airflow_provider_poms.links.PomsSubmissionLink",
            "airflow_provider_poms.links.PomsCampaignStageLink",
            "airflow_provider_poms.links.ReqMgr2RequestLink",
        ],
    }
