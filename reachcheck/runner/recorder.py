"""The observations of one site as its measurements arrive."""

from __future__ import annotations

import dataclasses

from reachcheck.model import (
    ControlMeasurement,
    DnsQuery,
    HttpFetch,
    Observations,
    OwnTrigger,
    Target,
    TcpConnect,
    TlsHandshake,
)


@dataclasses.dataclass(slots=True)
class Recorder:
    """The observations of one site as they arrive, so a site cut off by its deadline still
    reports what was measured."""

    target: Target
    dns: list[DnsQuery] = dataclasses.field(default_factory=list)
    tcp: list[TcpConnect] = dataclasses.field(default_factory=list)
    tls: list[TlsHandshake] = dataclasses.field(default_factory=list)
    http: list[HttpFetch] = dataclasses.field(default_factory=list)
    control: ControlMeasurement | None = None
    cleartext: list[HttpFetch] = dataclasses.field(default_factory=list)
    own_triggers: list[OwnTrigger] = dataclasses.field(default_factory=list)

    def observations(self, elapsed_ms: float) -> Observations:
        return Observations(
            target=self.target,
            dns=tuple(self.dns),
            tcp=tuple(self.tcp),
            tls=tuple(self.tls),
            http=tuple(self.http),
            control=self.control,
            elapsed_ms=elapsed_ms,
            cleartext_fetches=tuple(self.cleartext),
            own_triggers=tuple(self.own_triggers),
        )
