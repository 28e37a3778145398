"""The send jobs' names before they were split into deliver, drains and sender_actions.

RQ stores a job as the dotted path of its function, so replies that an older Keloa queued
(`keloa_web.sends.jobs.send_message`, `.send_fresh`, `.mark_seen`) must still find their function
after an upgrade while they wait in Redis. New jobs are queued under their new homes.
"""
from keloa_web.sends.deliver import send_message
from keloa_web.sends.drains import send_fresh
from keloa_web.sends.sender_actions import mark_seen

__all__ = ["mark_seen", "send_fresh", "send_message"]
