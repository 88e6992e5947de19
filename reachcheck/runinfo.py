"""What a run stamps on each result: its id, when each site was measured, and from where.

Results from many runs end up side by side (the history store, one JSONL file appended to from
cron, a report over a week of runs), so every result says which run it came from (`run_id`),
when its measurement finished (`measured_at`, RFC 3339 UTC) and the vantage it was measured
from (`Vantage`: the user's `--label`, the resolvers asked, the control server). The client's
public address as an outside view saw it stays None: the control API does not report it yet.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from reachcheck.config import Config
from reachcheck.model import SiteResult, Vantage

MAX_LABEL = 200  # characters: a label is a name (a city, an ISP), not a note


class LabelError(ValueError):
    """A `--label` that cannot be stored or shown on one line."""


def parse_label(text: str) -> str:
    """`--label TEXT` -> the label; one printable line of at most MAX_LABEL characters."""
    label = text.strip()
    if not label:
        raise LabelError("the label is empty")
    if len(label) > MAX_LABEL:
        raise LabelError(f"the label is longer than {MAX_LABEL} characters")
    if any(not ch.isprintable() for ch in label):
        raise LabelError("the label holds control characters")
    return label


def now_utc() -> dt.datetime:
    """The current time in UTC (a seam for tests)."""
    return dt.datetime.now(dt.UTC)


def rfc3339(moment: dt.datetime) -> str:
    """RFC 3339 UTC with a `Z` and milliseconds, like the JSON document's times."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id(moment: dt.datetime) -> str:
    """A run id that sorts by start time and is unique across machines:
    `20261129T101500Z-4f2a9c1e` (start time in UTC, then 32 random bits)."""
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)


def _udp(servers: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    # The spelling of probes.dns.udp.resolver_label (IPv6 in brackets), so DnsQuery.resolver
    # can be matched; not imported from there, so the CLI starts without the probe stack.
    return tuple(f"udp:[{host}]:{port}" if ":" in host else f"udp:{host}:{port}"
                 for host, port in servers)


def vantage_of(config: Config, label: str | None,
               system_nameservers: Callable[[], tuple[tuple[str, int], ...]] | None = None
               ) -> Vantage:
    """The vantage a run with `config` measures from."""
    system: tuple[tuple[str, int], ...] = ()
    if config.system_resolver and "dns" in config.stages:
        if config.system_nameservers is not None:
            system = tuple(config.system_nameservers)
        elif system_nameservers is not None:
            system = system_nameservers()
        else:
            from reachcheck.probes.dns.resolvconf import system_nameservers as from_resolv_conf

            system = from_resolv_conf()
    return Vantage(
        label=label,
        system_resolvers=_udp(system),
        resolvers=_udp(config.resolvers),
        doh=tuple(server.url for server in config.doh),
        control=config.control,
    )


@dataclass(frozen=True, slots=True)
class RunStamp:
    """The run-wide facts stamped on each result of one `check`."""

    run_id: str
    started_at: str
    vantage: Vantage
    clock: Callable[[], dt.datetime] = now_utc

    @classmethod
    def create(cls, config: Config, label: str | None = None) -> RunStamp:
        """A new run starting now."""
        start = now_utc()
        return cls(new_run_id(start), rfc3339(start), vantage_of(config, label))

    def stamp(self, result: SiteResult) -> SiteResult:
        """`result` with this run's id, its vantage and the time it finished (now). The public
        address is the one the control server saw this site's request come from, if any."""
        vantage = self.vantage
        seen_from = result.control.client_address if result.control else None
        if seen_from:
            vantage = dataclasses.replace(vantage, public_address=seen_from)
        return dataclasses.replace(result, run_id=self.run_id, measured_at=rfc3339(self.clock()),
                                   vantage=vantage)
