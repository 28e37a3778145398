"""Every RQ job module, imported by worker.py so that jobs and periodic tasks are registered.

Jobs live beside their area (e.g. keloa_web/webhooks/ingest.py); list each module here.
"""
from importlib import import_module

JOB_MODULES = (
    "keloa_web.accounts.jobs", "keloa_web.sends.jobs", "keloa_web.integrations.backfill", "keloa_web.agents.jobs",
    "keloa_web.webhooks.ingest", "keloa_web.webhooks.profiles", "keloa_web.media.jobs", "keloa_web.housekeeping",
)

for _name in JOB_MODULES:
    import_module(_name)
