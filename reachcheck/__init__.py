"""reachcheck: is a website reachable from here, and if not, how is it blocked?"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
