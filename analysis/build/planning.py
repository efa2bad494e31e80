"""Planning: every report a build makes (a :class:`Job` each), which of them ``--only``
chooses, and the order they are handed to the workers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis import geography, measures
from analysis.build.config import NOTEBOOKS

# analyses that run on the project's synthetic demo data whatever the build's source: left out
# of real-data builds, so that no page of a real build shows synthetic figures
DEMO_ONLY_ANALYSES = frozenset({"programme_evaluation"})

# analyses of the small area models: left out of a build that fitted none (one from the
# published tables has no survey microdata to model), once its data step has shown that
MODEL_ANALYSES = frozenset({"small_area_diagnostics"})
# an analysis's title in the index and its page's <title>, where its file name would not do
ANALYSIS_TITLES = {"small_area_diagnostics": "Small area models: how well they fit"}

# the notebooks that make one report per measure or borough, or a fixed overview page
TEMPLATED = ("london.ipynb", "changes.ipynb", "measure.ipynb", "borough.ipynb")

# notebooks for researchers to run themselves, not reports: explore.ipynb reads the microdata
# through analysis.api
RESEARCH_NOTEBOOKS = ("explore.ipynb",)


@dataclass(frozen=True)
class Job:
    """One report: which notebook, with which parameters, written where."""

    kind: str  # london | briefing | measure | borough | analysis
    name: str  # measure id, borough slug, or notebook name
    notebook: str  # file name in ``folder``
    parameters: dict[str, Any]
    output: str  # path under the output folder, without extension
    title: str
    folder: str = str(NOTEBOOKS)  # where the notebook is (it runs there)

    @property
    def path(self) -> Path:
        """The notebook file."""
        return Path(self.folder) / self.notebook


@dataclass
class JobResult:
    """What became of one report in this build."""

    output: str
    status: str  # built | unchanged | failed
    key: str
    seconds: float = 0.0
    error: str | None = None
    cell: int | None = None
    timings: dict[str, float] = field(default_factory=dict)


def measure_titles(data_dir: Path) -> dict[str, str]:
    """Measure id -> the title of its report, from the build's estimates in ``data_dir``: the
    h1 of its page, marked "(proxy)" when its figures are a proxy
    (:func:`analysis.provenance.measure_title`, read from the rows the page reads). Empty when
    no estimates have been written there yet."""
    path = Path(data_dir) / "estimates.csv"
    if not path.exists():
        return {}
    from analysis import pipeline, provenance

    estimates = pipeline.read_estimates(path)
    by_measure = dict(tuple(estimates.groupby("measure_id", sort=False)))
    return {
        m.id: provenance.measure_title(m, by_measure.get(m.id, estimates.iloc[0:0]))
        for m in measures.registry()
    }


def plan(
    data_dir: Path,
    boundaries: str | None = None,
    synthetic_analyses: bool = True,
    notebooks: Path = NOTEBOOKS,
    *,
    titles: bool = True,
) -> list[Job]:
    """Every report the build makes.

    A measure's report is titled as its page's h1 (:func:`measure_titles`: "(proxy)" when the
    estimates in ``data_dir`` say its figures are a proxy), and so are its HTML and PDF titles
    and its entry in the index. ``titles=False`` gives the registry's titles without reading
    the estimates (for a plan made before they are computed, to choose and count reports).
    """
    common = {"data_dir": str(data_dir), "boundaries": boundaries}
    folder = str(notebooks)
    named = measure_titles(data_dir) if titles else {}
    jobs = [
        Job(
            "london",
            "london",
            "london.ipynb",
            dict(common),
            "london",
            "The state of social integration in London",
            folder,
        ),
        Job(
            "briefing",
            "changes",
            "changes.ipynb",
            dict(common),
            "changes",
            "What changed: significant changes, trends and revisions",
            folder,
        ),
    ]
    for m in measures.registry():
        jobs.append(
            Job(
                "measure",
                m.id,
                "measure.ipynb",
                {"measure_id": m.id, **common},
                f"measures/{m.id}",
                named.get(m.id, m.title),
                folder,
            )
        )
    for b in geography.all_borough_objects():
        jobs.append(
            Job(
                "borough",
                b.slug,
                "borough.ipynb",
                {"borough": b.code, **common},
                f"boroughs/{b.slug}",
                b.name,
                folder,
            )
        )
    for extra in sorted(Path(notebooks).glob("*.ipynb")):
        if extra.stem in DEMO_ONLY_ANALYSES and not synthetic_analyses:
            continue
        if extra.stem in MODEL_ANALYSES and titles and not _has_models(data_dir):
            continue
        if extra.name not in (*TEMPLATED, *RESEARCH_NOTEBOOKS):
            jobs.append(
                Job(
                    "analysis",
                    extra.stem,
                    extra.name,
                    dict(common),
                    f"analysis/{extra.stem}",
                    ANALYSIS_TITLES.get(extra.stem, extra.stem.replace("_", " ").capitalize()),
                    folder,
                )
            )
    return jobs


def _has_models(data_dir: Path) -> bool:
    """Whether the build's data step wrote any small area model (``modelled/*.json``)."""
    return any((Path(data_dir) / "modelled").glob("*.json"))


# what --only accepts for each kind of report: singular and plural
KIND_NAMES = {
    "london": "london",
    "briefing": "briefing",
    "measure": "measure",
    "measures": "measure",
    "borough": "borough",
    "boroughs": "borough",
    "analysis": "analysis",
    "analyses": "analysis",
}


def select(jobs: list[Job], only: list[str] | tuple[str, ...] | None) -> list[Job]:
    """Filter by ``--only`` terms: a kind (``boroughs``), a name or slug, an alias, or ``kind:name``."""
    if not only:
        return jobs
    wanted: set[str] = set()
    for term in only:
        kind, _, name = term.partition(":") if ":" in term else ("", "", term)
        kind = KIND_NAMES.get(kind, kind)
        hits = [
            j
            for j in jobs
            if (not kind or j.kind == kind)
            and (
                name in (j.name, j.output)
                or KIND_NAMES.get(name) == j.kind
                or _alias(name) == j.name
            )
        ]
        if not hits:
            known = sorted({j.name for j in jobs})
            raise SystemExit(
                f"--only {term!r} matches no report; try e.g. london, boroughs, measures, camden, "
                f"measure:get_on_well (known names: {', '.join(known[:12])}, ...)"
            )
        wanted |= {j.output for j in hits}
    return [j for j in jobs if j.output in wanted]


def _alias(name: str) -> str | None:
    try:
        return geography.slug_of(name)
    except geography.UnknownAreaError:
        return None


# the order reports are handed to the workers: longest first, so that the last worker to
# finish is not left with a long one while the others wait. Measure pages are the longest (the
# longest, with its small area model sections, takes four times a borough page), boroughs the
# shortest; a report's own time in the previous build, when known, orders it within its kind
WEIGHT = {"measure": 0, "london": 1, "briefing": 1, "analysis": 1, "borough": 2}


def balanced(
    pending: list[tuple[Job, str]], seconds: Mapping[str, float] | None = None
) -> list[tuple[Job, str]]:
    """Longest reports first: by kind (``WEIGHT``), then by the seconds each took in the
    previous build (``seconds``, by output; the plan's order for those not timed)."""
    seconds = seconds or {}
    return sorted(
        pending, key=lambda jk: (WEIGHT.get(jk[0].kind, 3), -seconds.get(jk[0].output, 0.0))
    )
