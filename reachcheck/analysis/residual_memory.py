"""Residual blocking left by our own earlier run (design §5.1: "residual blocking outlives a
run").

The runner remembers its triggers across runs (`runner/memory.py`) and, when an address is
still punished (an earlier run's trigger, and now even the benign SNI fails there), leaves it
alone and records the trigger as `OwnTrigger(active=True)` in `Observations.own_triggers`.
Rules:
1. Memory explains, it never accuses: no anomaly and no verdict comes from an earlier run.
2. A site that could be judged on no address because of such a penalty is `inconclusive`, and
   the reason says so: which probe of ours, how long ago, and when to run again. (Without this,
   a clear SNI block turns into an unexplained `inconclusive` on a second run, or, when only
   the TLS stage is punished, a bare TCP connect would read as "reachable".)
3. A site judged on other addresses keeps its verdict; the reason notes the skipped ones.
"""

from __future__ import annotations

import dataclasses

from reachcheck.analysis.context import Facts, target_handshakes
from reachcheck.analysis.verdict import Decision
from reachcheck.model import OwnTrigger

WINDOW_S = 180.0  # the longest residual block reported for the GFW (censorship.md §2)


def _what(t: OwnTrigger) -> str:
    name = f"SNI {t.sni}" if t.sni else "a handshake"
    return (f"our own probe of {t.address}:{t.port} {t.age_s:.0f} s ago ({name}: {t.error}, "
            "while the benign SNI passed)")


def review(facts: Facts, decision: Decision) -> Decision:
    """The decision, explained (or made inconclusive, rule 2) by our own earlier triggers."""
    active = [t for t in facts.obs.own_triggers if t.active]
    if not active:
        return decision
    boxed = {t.address for t in active}
    measured = (
        {t.address for t in target_handshakes(facts.obs)} | {f.address for f in facts.obs.http}
    ) - boxed
    first = active[0]
    wait = max(0, round(WINDOW_S - first.age_s))
    if not measured:
        reason = (f"not judged: after {_what(first)}, the address fails even for the benign "
                  f"SNI now, as a censor's residual block does (up to {WINDOW_S:.0f} s); the "
                  f"site's own name was not sent there so as not to prolong it; run again in "
                  f"about {wait} s")
        summary = f"Not judged: penalty left by our own earlier probe; run again in ~{wait} s"
        return Decision("inconclusive", "none", reason, summary,
                        decision.reachable_with_trusted_dns)
    skipped = ", ".join(sorted(boxed))
    note = f"; {skipped} left alone: still punished after {_what(first)}"
    return dataclasses.replace(decision, reason=decision.reason + note)
