"""OONI Web Connectivity measurements -> reachcheck observations (`reachcheck import ooni`).

- `reader`: files, JSONL, .gz, directories, stdin -> JSON values with `path:line`.
- `failures`: the one table from OONI failure strings to our error names.
- `measurement` (with `dns`, `connect`, `http`, `control`): one measurement -> `Observations`
  and a `source` record.
- `agreement`: OONI's verdict next to ours.

May import: reachcheck.analysis, reachcheck.model, reachcheck.output,
reachcheck.probes.http_content, reachcheck.probes.tls, reachcheck.targets. (Enforced by
tests/test_layering.py.)
"""

from reachcheck.ingest.ooni.measurement import Mapped, OtherTest, map_measurement
from reachcheck.ingest.ooni.values import Malformed

__all__ = ["Malformed", "Mapped", "OtherTest", "map_measurement"]
