"""The coordination module: dedupe by job id, the declared periodic tasks and event listeners."""
from __future__ import annotations

import threading

from rq.job import Job

from keloa_web import jobs
from keloa_web.media.jobs import fetch_media
from keloa_web.webhooks.profiles import fetch_profile


def test_enqueue_once_queues_a_job_id_once_until_it_is_gone(app):
    with app.app_context():
        assert jobs.enqueue_once(fetch_media, 41, job_id="media-41") is True
        assert jobs.enqueue_once(fetch_media, 41, job_id="media-41") is False  # webhook and backfill both ask
        assert jobs.get_queue("default").get_job_ids() == ["media-41"]
        assert jobs.enqueue_once(fetch_profile, 7, job_id="profile-7") is True
        Job.fetch("media-41", connection=jobs.get_redis()).delete()
        assert jobs.enqueue_once(fetch_media, 41, job_id="media-41") is True


def test_enqueue_once_with_a_delay_schedules_once(app):
    with app.app_context():
        assert jobs.enqueue_once(fetch_media, 5, job_id="media-5", delay=30) is True
        assert jobs.enqueue_once(fetch_media, 5, job_id="media-5", delay=30) is False
        assert jobs.enqueue_once(fetch_media, 5, job_id="media-5") is False  # scheduled counts as queued
        assert jobs.get_queue("default").scheduled_job_registry.get_job_ids() == ["media-5"]
        assert jobs.get_queue("default").get_job_ids() == []


def test_every_declared_task_and_listener_names_a_function():
    names = [p.task for p in jobs.SCHEDULE] + [path for paths in jobs.LISTENERS.values() for path in paths]
    assert len(names) == len(set(names))
    for name in names:
        assert callable(jobs._function(name)), name


def test_the_schedule_runs_each_task_at_its_interval_and_survives_a_failing_one(app, monkeypatch):
    calls: list[str] = []

    def ok():
        calls.append("ok")

    def broken():
        calls.append("broken")
        raise RuntimeError("boom")

    import sys
    module = sys.modules[__name__]
    monkeypatch.setattr(module, "ok_task", ok, raising=False)
    monkeypatch.setattr(module, "broken_task", broken, raising=False)
    stop = threading.Event()
    schedule = (jobs.Periodic(0.2, f"{__name__}:ok_task", "test"), jobs.Periodic(60, f"{__name__}:broken_task", "test"))
    thread = jobs.start_schedule(app, stop, schedule)
    threading.Event().wait(1.3)
    stop.set()
    thread.join(2)
    assert calls.count("broken") == 1  # once: its interval is a minute, and its failure stopped nothing
    assert calls.count("ok") >= 2


def test_a_misspelt_task_fails_when_the_worker_starts(app):
    import pytest

    with pytest.raises(AttributeError):
        jobs.start_schedule(app, threading.Event(), (jobs.Periodic(1, "keloa_web.housekeeping:no_such_task", "x"),))

