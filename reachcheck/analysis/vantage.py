"""What the outside views add to a decision, outside the verdict rules themselves.

- The user's proxy (`--via`) is an outside view like a control server (the verdict rules read
  `Observations.control` either way); here: whether the site answered through it
  (`reachable_via_proxy`), the wording ("through your proxy", not "the control server"), and the
  reason when the proxy view failed (the site was judged from the direct path alone).
- A local proxy/VPN in the direct path (`localproxy.detect`): no blocking is claimed; a blocked
  verdict becomes inconclusive, with what was found and how to measure.
"""

from __future__ import annotations

import dataclasses

from reachcheck.analysis.localproxy import HOW_TO_MEASURE
from reachcheck.analysis.verdict import Decision
from reachcheck.model import BLOCKED_VERDICTS, Observations


def proxy_view(obs: Observations) -> bool:
    """The outside view is the user's proxy (ok or not)."""
    return obs.control is not None and obs.control.kind == "proxy"


def reachable_via_proxy(obs: Observations) -> bool | None:
    """The site answered through the proxy: a page arrived (for https over a verified
    handshake). None when there is no working proxy view."""
    ctrl = obs.control
    if ctrl is None or ctrl.kind != "proxy" or not ctrl.ok:
        return None
    fetch = ctrl.http
    if fetch is None or not fetch.ok:
        return False
    if obs.target.scheme == "https":
        return fetch.tls is None or fetch.tls.ok
    return True


def with_proxy_view(obs: Observations, d: Decision) -> Decision:
    """The decision in the words of a proxy view, plus what it says about the proxy."""
    ctrl = obs.control
    if ctrl is None or ctrl.kind != "proxy":
        return d
    if not ctrl.ok:
        note = f"the proxy view failed ({ctrl.error}), so this is judged from here alone"
        return dataclasses.replace(d, reason=f"{d.reason}; {note}",
                                   summary=f"{d.summary} (proxy view failed)")
    reason = d.reason.replace("the control server's", "the proxy's")
    reason = reason.replace("the control server", "the proxy view")
    summary = d.summary.replace("from outside", "through your proxy")
    reachable = reachable_via_proxy(obs)
    summary += "; via your proxy: " + ("reachable" if reachable else "not reachable")
    return dataclasses.replace(d, reason=reason, summary=summary)


def without_local_proxy_claims(d: Decision, found: str | None) -> Decision:
    """No blocking claimed when a local proxy/VPN is in the path (`found` says what showed)."""
    if found is None:
        return d
    where = f"the measured path is not direct ({found})"
    if d.verdict not in BLOCKED_VERDICTS:
        return dataclasses.replace(d, reason=f"{d.reason}; note: {where}")
    return Decision(
        "inconclusive",
        "none",
        f"{where}: what looks like {d.verdict} here is not evidence of blocking "
        f"(would have been: {d.reason}); {HOW_TO_MEASURE}",
        "Unclear: a local proxy/VPN is in the path; turn it off or use --via",
    )
