"""A mapper of a made-up event shape, for testing the sources framework apart from any real system's
payloads (those are tested with real examples in the github/gitlab/zadig tests)."""

from insights.sources.mapping import Malformed, Reading


class FakeMapper:
    """`{"run": key, "sha": hex, "at": iso, "job": {...}}` adds a job to run `key`; `{"push": sha, "commits":
    [...]}` gives the commits of runs building `sha`. Jobs merge by name, the latest event's version wins."""

    events = frozenset({"fake_run", "fake_push", "fake_ping"})

    def read(self, event, payload):
        if not isinstance(payload, dict):
            raise Malformed("the payload must be an object")
        if event == "fake_ping":
            return Reading("none")
        if event == "fake_push":
            if not isinstance(payload.get("push"), str):
                raise Malformed("push is missing")
            return Reading("push", head_sha=payload["push"])
        if not isinstance(payload.get("run"), str) or not isinstance(payload.get("at"), str):
            raise Malformed("run and at are required")
        from django.utils.dateparse import parse_datetime

        return Reading(
            "run", run_key=payload["run"], head_sha=payload.get("sha", ""), occurred_at=parse_datetime(payload["at"])
        )

    def fold(self, source, run_key, deliveries, pushes):
        jobs, created = {}, None
        for delivery in deliveries:
            payload = delivery.payload
            created = min(created or payload["at"], payload["at"])
            if payload.get("job"):
                jobs[payload["job"]["name"]] = payload["job"]
        if not jobs:
            return None
        commits = {}
        for push in pushes:
            for commit in push.payload["commits"]:
                commits[commit["sha"]] = commit
        return {
            "project": "shop",
            "workflow": "ci",
            "status": "failed" if any(job["status"] == "failed" for job in jobs.values()) else "passed",
            "created_at": created,
            "branch": deliveries[-1].payload.get("branch", "main"),
            "jobs": [jobs[name] for name in sorted(jobs)],
            "commits": [commits[sha] for sha in sorted(commits)],
        }
