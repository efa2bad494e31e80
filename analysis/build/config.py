"""The build's configuration: one frozen object that says what a build makes and from what.

``build()`` takes it instead of a dozen keyword arguments, the command line makes it from its
options, and the manifest records it (:meth:`BuildConfig.record`), so a build can be told
apart from another by what was asked of it, not only by what it wrote.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from analysis import geography

#: the report notebooks shipped with the project
NOTEBOOKS = geography.PROJECT_ROOT / "notebooks"


@dataclass(frozen=True)
class BuildConfig:
    """What one build makes, from which inputs, and how.

    ``inputs_factory`` makes the canonical inputs (the embedded demo when None); it is called
    only when the estimates have to be computed again, and ``inputs_key`` names them in the
    cache keys (``input_files`` lists the files they were read from, for the manifest).
    """

    out: Path = Path("reports")
    jobs: int | None = None  # worker processes; None: one per core
    only: tuple[str, ...] | None = None  # --only terms (analysis.build.planning.select)
    force: bool = False  # rebuild the estimates and every chosen report
    progress: bool = True  # a progress bar on stderr
    boundaries: str | None = None  # the maps' boundary file; None: the committed GeoJSON
    publication_date: str | None = None  # YYYY-MM-DD; None: analysis/data/publication.yaml
    synthetic_analyses: bool = True  # the analyses that always run on the demo (demo builds)
    inputs_key: str | None = None
    input_files: Mapping[str, str] | None = None
    inputs_factory: Callable[[], Any] | None = field(default=None, compare=False, repr=False)
    notebooks: Path = NOTEBOOKS

    def __post_init__(self) -> None:
        # normalised here, so two configs that ask for the same build compare equal
        set_ = object.__setattr__
        set_(self, "out", Path(self.out))
        set_(self, "notebooks", Path(self.notebooks))
        if isinstance(self.only, str):
            raise TypeError("BuildConfig.only takes a list of --only terms, not one string")
        set_(self, "only", tuple(self.only) if self.only else None)
        if self.input_files is not None:
            set_(self, "input_files", MappingProxyType(dict(self.input_files)))
        if self.boundaries is not None:
            set_(self, "boundaries", str(self.boundaries))

    @property
    def workers(self) -> int:
        """Worker processes the build uses: ``jobs``, or one per core."""
        return max(1, self.jobs or os.cpu_count() or 1)

    @property
    def key(self) -> str:
        """The inputs' name in the cache keys (``demo`` for the embedded demo)."""
        return self.inputs_key or ("demo" if self.inputs_factory is None else "custom")

    def replace(self, **changes: Any) -> BuildConfig:
        """A copy with some fields changed (the config itself never changes)."""
        return dataclasses.replace(self, **changes)

    def record(self) -> dict[str, Any]:
        """The configuration as the manifest records it: plain JSON values, the inputs by
        key and files (the factory is code, not configuration)."""
        return {
            "out": str(self.out),
            "jobs": self.workers,
            "only": list(self.only) if self.only else None,
            "force": self.force,
            "boundaries": self.boundaries,
            "publication_date": self.publication_date,
            "synthetic_analyses": self.synthetic_analyses,
            "inputs_key": self.key,
            "notebooks": str(self.notebooks),
        }
