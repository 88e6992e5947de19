"""Where the golden corpus's measurement files are.

The measurements are OONI data taken from public repositories; by this workplace's rule such
data files are kept in the steering repository's `shared/` (beside the project's clone, as
`shared/data/ooni-corpus/`), not committed here. This repository keeps what is its own: the
manifest with the labels and sources (`tests/data/ooni/corpus.json`) and the tests.

Looked up in order: $REACHCHECK_OONI_CORPUS, `shared/data/ooni-corpus` beside any parent of the
repository, then an uncommitted local copy in `tests/data/ooni/` (git-ignored). Each holds
`corpus/` (one file per case), `shapes/` (other tests, a malformed measurement) and NOTICE.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "tests" / "data" / "ooni" / "corpus.json"


def find() -> Path | None:
    """The directory holding `corpus/` and `shapes/`, or None."""
    env = os.environ.get("REACHCHECK_OONI_CORPUS")
    candidates = [Path(env)] if env else []
    candidates += [parent / "shared" / "data" / "ooni-corpus" for parent in ROOT.parents]
    candidates.append(ROOT / "tests" / "data" / "ooni")
    return next((c for c in candidates if (c / "corpus").is_dir()), None)


DATA = find()
CORPUS = DATA / "corpus" if DATA else None
SHAPES = DATA / "shapes" if DATA else None
needs_corpus = pytest.mark.skipif(
    DATA is None,
    reason="OONI corpus files not found (shared/data/ooni-corpus beside the repository, or "
           "$REACHCHECK_OONI_CORPUS); see tests/ingest/corpus.py")
