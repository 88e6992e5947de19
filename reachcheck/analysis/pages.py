"""Is the page we got the page the control server got? Content, not server software.

OONI's rule calls two pages "the same" when any one of body length, title words or uncommon
header names agrees. Header names say which server software answered, not what it answered: a
notice page injected on the genuine address by a box running the site's own server software
carries the site's header set and passed that test. So the rules here compare content only:

1. Same body hash: the same page. Same long title words (5+ letters, both titles present): the
   same page (dynamic bodies vary; blockpages do not copy the site's title).
2. Different title words: a different page unless the body lengths agree (proportion > 0.7:
   then it cannot be told). No title to compare: body length proportion <= 0.7 differs,
   > 0.7 is the same page. A truncated body is never measured by its length.
3. The control's own variance decides whether a difference is evidence (design 5.1, dynamic and
   parked pages). With a second control fetch (`ControlMeasurement.http_repeat`):
   - "stable": both control fetches got the same status, body hash, or title words and a body
     length within the ratio;
   - "varies": any change between them (status, title words, length beyond the ratio: a dynamic
     or parked page): no difference from it is evidence;
   - "unknown": only one fetch (or the two cannot be compared).
   A page that differs from every control fetch of a stable page is evidence ("likely"); with
   the variance unknown it is reported, and the verdict stays inconclusive, never blocked.
Status codes are compared by `http.compare` as before; a repeat with another status makes the
control's status unstable (no status evidence either).
"""

from __future__ import annotations

from typing import Literal

from reachcheck.model import ControlMeasurement, HttpFetch

Variance = Literal["stable", "varies", "unknown"]
LENGTH_RATIO = 0.7  # OONI's body proportion threshold (Jones et al. 2014)


def title_words(title: str | None) -> frozenset[str]:
    """The title's words of five or more letters, lower case."""
    return frozenset(w.lower() for w in (title or "").split() if len(w) >= 5)


def _length_match(a: HttpFetch, b: HttpFetch) -> bool | None:
    la, lb = a.body_length or 0, b.body_length or 0
    if la <= 0 or lb <= 0 or a.body_truncated or b.body_truncated:
        return None
    return min(la / lb, lb / la) > LENGTH_RATIO


def differs(page: HttpFetch, ref: HttpFetch) -> bool | None:
    """True: `page` is another page than `ref`; False: the same page; None: cannot tell."""
    if page.body_sha256 and page.body_sha256 == ref.body_sha256:
        return False
    length = _length_match(page, ref)
    ta, tb = title_words(page.title), title_words(ref.title)
    if ta and tb and not page.body_truncated:
        if ta == tb:
            return False
        return None if length else True
    if length is None:
        return None
    return not length


def variance(ctrl: ControlMeasurement | None) -> Variance:
    """How the control server's own fetches of the page compare with each other."""
    if ctrl is None or not ctrl.ok or ctrl.http is None or ctrl.http_repeat is None:
        return "unknown"
    first, again = ctrl.http, ctrl.http_repeat
    if not (first.ok and again.ok):
        return "unknown"
    if first.status != again.status:
        return "varies"
    if first.body_sha256 and first.body_sha256 == again.body_sha256:
        return "stable"
    # Any change counts as variance here: another title, or a size outside the ratio.
    length = _length_match(first, again)
    ta, tb = title_words(first.title), title_words(again.title)
    if (ta or tb) and ta != tb or length is False:
        return "varies"
    return "stable" if length else "unknown"


def control_pages(ctrl: ControlMeasurement) -> list[HttpFetch]:
    """The control server's successful fetches of the page."""
    return [f for f in (ctrl.http, ctrl.http_repeat) if f is not None and f.ok]


def differs_from_control(page: HttpFetch, ctrl: ControlMeasurement) -> bool:
    """`page` differs from every page the control server got (and there was one)."""
    refs = control_pages(ctrl)
    return bool(refs) and all(differs(page, r) is True for r in refs)
