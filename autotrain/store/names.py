"""The names the run store shows and filters by, listed once (the CLI's choices are made from them).

Light on purpose: the CLI imports it at start-up.
"""
from __future__ import annotations

#: What ``runs`` shows in its status column, and what ``status=`` filters by.
STATUSES = ("completed", "running", "killed", "failed", "interrupted", "diverged", "agree", "DISAGREE",
            "incomplete", "unknown", "no summary", "unreadable")

#: What ``runs --sort`` orders by.
SORT_KEYS = ("start", "name", "status", "loss", "val", "steps_per_s", "size", "dir")
