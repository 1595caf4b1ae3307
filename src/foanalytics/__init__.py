"""foanalytics: front-office analytics as a library.

``from foanalytics import build`` gives ready services wired from settings. Importing the package
does no I/O and builds nothing; ``build`` is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Services", "Settings", "__version__", "build"]

if TYPE_CHECKING:
    from foanalytics.bootstrap import Services, build
    from foanalytics.config import Settings


def __getattr__(name: str) -> Any:
    if name in ("build", "Services"):
        from foanalytics import bootstrap

        return getattr(bootstrap, name)
    if name == "Settings":
        from foanalytics.config import Settings

        return Settings
    raise AttributeError(f"module 'foanalytics' has no attribute {name!r}")
