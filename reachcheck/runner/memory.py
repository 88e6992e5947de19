"""Residual memory across runs: recent triggers of our own probes, kept on disk.

A censor that resets a site's SNI keeps punishing the (client, address, port) tuple for up to
~180 s (design §3, §5.1). A run started inside that window finds the benign-SNI handshake
failing too, and without memory would call a clear SNI block `inconclusive` with no reason, or
prolong the penalty by probing again. So each run records its triggers (a target-SNI handshake
reset, dropped or cut off while the benign SNI passed on the same tuple) under
`$XDG_STATE_HOME/reachcheck/triggers.json` (default `~/.local/state/reachcheck/`), and the next
run reads those still inside the window: to explain a failure and to stay out of the penalty
box, never to invent a block (`analysis.residual_memory`).

Rules: bounded (the newest MAX_ENTRIES inside the window), written atomically (temp file +
rename, merged with what another run wrote meanwhile), and never fatal: an unreadable or
unwritable state file only means no memory.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from reachcheck.model import OwnTrigger, TlsHandshake

FILE_NAME = "triggers.json"
MAX_ENTRIES = 4096
TRIGGER_ERRORS = frozenset({"reset", "timeout", "eof"})


def state_dir() -> Path:
    """$XDG_STATE_HOME/reachcheck, or ~/.local/state/reachcheck (XDG base directory spec)."""
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / "reachcheck"


@dataclass(frozen=True, slots=True)
class Entry:
    """One remembered trigger: unix time of the failure, the tuple, the name and the error."""

    at: float
    address: str
    port: int
    sni: str | None
    error: str | None


def _rfc3339(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z"
    )


class ResidualMemory:
    """The triggers of earlier runs still inside the window, and this run's new ones."""

    def __init__(self, window_s: float, path: Path | None = None) -> None:
        self.window_s = window_s
        self.path = path if path is not None else state_dir() / FILE_NAME
        self._earlier: dict[tuple[str, int], Entry] = {}  # newest per tuple
        self._new: list[Entry] = []

    # ------------------------------------------------------------------ reading

    def _read(self, now: float) -> list[Entry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            rows = data["triggers"] if isinstance(data, dict) else []
            entries = [Entry(float(r["at"]), str(r["address"]), int(r["port"]),
                             r.get("sni"), r.get("error")) for r in rows]
        except (OSError, ValueError, KeyError, TypeError):
            return []  # no file yet, or one we cannot use: no memory, never an error
        return [e for e in entries if now - self.window_s <= e.at <= now + 1.0]

    def load(self, now: float | None = None) -> None:
        """Read the triggers of earlier runs still inside the window."""
        now = time.time() if now is None else now
        for e in sorted(self._read(now), key=lambda e: e.at):
            self._earlier[(e.address, e.port)] = e

    def earlier(self) -> Iterable[Entry]:
        """The remembered triggers of earlier runs (newest per tuple)."""
        return self._earlier.values()

    def recall(self, address: str, port: int, now: float, *, active: bool) -> OwnTrigger | None:
        """The remembered trigger on (address, port) from an earlier run, as evidence for the
        JSON (`active`: this run found the tuple still punished), or None."""
        e = self._earlier.get((address, port))
        if e is None or now - e.at > self.window_s:
            return None
        return OwnTrigger(address, port, _rfc3339(e.at), round(now - e.at, 1), e.sni, e.error,
                          active)

    # ------------------------------------------------------------------ writing

    def note(self, handshakes: Iterable[TlsHandshake], benign_ok: set[tuple[str, int]],
             at: float) -> None:
        """Remember this site's triggers: target-SNI handshakes reset/dropped/cut off on a
        tuple where the benign SNI passed (`at`: unix time the site's check ended)."""
        for t in handshakes:
            if (t.kind == "target" and not t.ok and t.error in TRIGGER_ERRORS
                    and not t.possibly_residual and (t.address, t.port) in benign_ok):
                self._new.append(Entry(at, t.address, t.port, t.sni, t.error))
                del self._new[:-MAX_ENTRIES]

    def save(self, now: float | None = None) -> None:
        """Merge this run's triggers into the state file (atomically); errors are ignored."""
        if not self._new:
            return
        now = time.time() if now is None else now
        entries = self._read(now) + self._new
        entries.sort(key=lambda e: e.at)
        rows = [{"at": e.at, "address": e.address, "port": e.port, "sni": e.sni,
                 "error": e.error} for e in entries[-MAX_ENTRIES:]]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(prefix=".triggers-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump({"version": 1, "triggers": rows}, f)
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            pass  # a read-only home must not fail the run: the next run just remembers less
