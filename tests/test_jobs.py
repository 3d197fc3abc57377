"""The job registry: a bound on how many run, a queue, stopping, and owners that leave."""

import threading
import time

import pytest

from rnnviz.serving.jobs import JobRegistry


def blocker():
    release = threading.Event()

    def work(job):
        while not release.is_set() and not job.should_stop():
            time.sleep(0.01)
        return "finished"

    return release, work


def test_a_job_runs_in_the_background_and_returns_its_result():
    jobs = JobRegistry(max_running=1)
    job = jobs.submit(lambda job: 42, label="answer")
    assert job.wait(5)
    assert (job.status, job.result) == ("done", 42)


def test_jobs_beyond_the_bound_wait_in_the_queue_with_their_position():
    jobs = JobRegistry(max_running=1)
    release, work = blocker()
    first = jobs.submit(work)
    second = jobs.submit(work)
    third = jobs.submit(work)
    time.sleep(0.05)
    assert first.status == "running"
    assert (second.status, second.position) == ("queued", 1)
    assert third.position == 2
    release.set()
    assert third.wait(5) and second.status == "done"


def test_stop_ends_a_running_job_and_removes_a_queued_one():
    jobs = JobRegistry(max_running=1)
    _, work = blocker()
    running = jobs.submit(work)
    queued = jobs.submit(work)
    queued.stop()
    assert queued.status == "stopped" and queued.position == 0
    running.stop()
    assert running.wait(2)
    assert running.status == "stopped"


def test_a_job_whose_owner_stops_polling_stops_by_itself():
    jobs = JobRegistry(max_running=1, heartbeat_timeout=0.1)
    _, work = blocker()
    job = jobs.submit(work)
    assert job.wait(3)
    assert job.status == "stopped"


def test_a_failing_job_reports_its_error_and_frees_its_slot():
    jobs = JobRegistry(max_running=1)

    def boom(job):
        raise RuntimeError("out of cheese")

    failed = jobs.submit(boom)
    after = jobs.submit(lambda job: "ok")
    assert after.wait(5)
    assert failed.status == "failed" and "out of cheese" in failed.error
    assert after.result == "ok"


def test_a_max_trainings_setting_that_is_not_a_whole_number_is_refused_by_name(monkeypatch):
    from rnnviz.serving.jobs import max_trainings_from_env

    monkeypatch.setenv("RNNVIZ_MAX_TRAININGS", "two")
    with pytest.raises(ValueError, match="RNNVIZ_MAX_TRAININGS='two' must be a whole number"):
        max_trainings_from_env()
