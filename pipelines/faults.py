"""Failpoints for reliability tests: KCBX_FAILPOINT=kill:<point> kills the process there (SIGKILL, as a power cut
or an OOM kill would), pause:<point> holds it for 15 seconds. Unset in normal use: then a check is one lookup.

Points: load (COPY done, not committed), validate (validation results written, not committed), publish (core rows
replaced, not committed), match, reconcile, ledger, report (all done, not committed)."""
from __future__ import annotations

import os
import signal
import time


def failpoint(point: str) -> None:
    spec = os.environ.get("KCBX_FAILPOINT")
    if not spec:
        return
    action, _, where = spec.partition(":")
    if where != point:
        return
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "pause":
        time.sleep(15)
