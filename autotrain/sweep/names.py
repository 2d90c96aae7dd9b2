"""Where sweep trials can run, listed once (the CLI's ``--backend`` choices are made from it).

Light on purpose: the CLI imports it at start-up.
"""
from __future__ import annotations

#: Local processes, or tasks on a Ray cluster.
BACKENDS = ("local", "ray")
