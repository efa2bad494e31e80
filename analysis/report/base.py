"""What every report page shares: the build's data, the synthetic notice, the boundaries, the
measures a build has no figures for, and the :class:`Section` a notebook displays.

Why one base: the measure, borough and London pages (and the thematic, small area and briefing
pages) each loaded the estimates, printed the synthetic banner and looked up boundaries in their
own way. Here each is done once, and a page class only writes its own sections.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import pandas as pd

from analysis import charts, geography, measures, pipeline
from analysis import html as h
from analysis.outputs import SYNTHETIC_NOTICE

DEFAULT_DATA_DIR = geography.PROJECT_ROOT / "reports" / "data"


@dataclass
class Section:
    """A block of report HTML (and the charts in it, for researchers to reuse)."""

    html: str
    charts: list[charts.Chart] = field(default_factory=list)

    def __post_init__(self) -> None:
        # a plain string, never Markup: a caller adding text to it ("<h1>..." + section.html)
        # would otherwise have that text escaped by Markup's own ``+``
        self.html = str(self.html)

    def _repr_html_(self) -> str:
        return str(self.html)

    def __repr__(self) -> str:
        # short on purpose: a notebook stores this plain-text form beside the HTML of every
        # output, and the default (the whole HTML and every chart's table) doubled each report
        return f"<Section: {len(self.html):,} characters of HTML, {len(self.charts)} chart(s)>"


EMPTY = Section("")


@dataclass(frozen=True)
class ReportData:
    """One build's tables, read once: estimates, tested changes and recent trends."""

    estimates: pd.DataFrame
    changes: pd.DataFrame
    key: tuple = ()  # (folder, modification time) of the files read: identifies this build's data
    trends: pd.DataFrame | None = None  # trends.csv: each series' recent trend (None: not written)

    @property
    def synthetic(self) -> bool:
        return bool(self.estimates["synthetic"].astype(str).str.lower().eq("true").any())

    @cached_property
    def _change_rows(self) -> dict[tuple, int]:
        """Row position in ``changes`` of each (indicator, area, period, breakdown, group); the
        first row wins, as a filter's first match would."""
        keys = zip(
            *(
                self.changes[c].tolist()
                for c in ("indicator", "area_code", "period", "breakdown", "group")
            )
        )
        index: dict[tuple, int] = {}
        for position, key in enumerate(keys):
            index.setdefault(key, position)
        return index

    def change(
        self, indicator: str, area: str, period: str, breakdown: str = "all", group: str = "all"
    ) -> pd.Series | None:
        """The tested change of one figure since the previous period (None if there is none).

        Looked up in an index made once per build's data: a report asks for dozens of these.
        """
        position = self._change_rows.get((indicator, area, period, breakdown, group))
        return None if position is None else self.changes.iloc[position]

    @cached_property
    def _trend_rows(self) -> dict[tuple, int]:
        if self.trends is None:
            return {}
        keys = zip(
            *(
                self.trends[c].tolist()
                for c in ("indicator", "area_code", "breakdown", "group", "to_period")
            )
        )
        return {key: position for position, key in enumerate(keys)}

    def trend(
        self, indicator: str, area: str, period: str, breakdown: str = "all", group: str = "all"
    ) -> pd.Series | None:
        """The recent trend of a series ending at ``period`` (a row of ``trends.csv``), or None."""
        position = self._trend_rows.get((indicator, area, breakdown, group, period))
        if position is None or self.trends is None:
            return None
        return self.trends.iloc[position]


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> ReportData:
    folder = Path(path)
    estimates = pipeline.read_estimates(folder / "estimates.csv")
    changes = pd.read_csv(folder / "changes.csv", dtype={"period": str, "previous_period": str})
    trends = (
        pd.read_csv(
            folder / "trends.csv",
            dtype={"from_period": str, "to_period": str, "group": str, "breakdown": str},
            keep_default_na=False,
            na_values={"p_value": [""]},
        )
        if (folder / "trends.csv").exists()
        else None
    )
    return ReportData(estimates, changes, (path, mtime), trends)


def load(data_dir: str | Path | None = None) -> ReportData:
    """The build's estimates (cached per file version). Computes the demo ones if absent."""
    folder = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
    target = folder / "estimates.csv"
    if not target.exists():  # a researcher opening a notebook before any build
        pipeline.write_results(pipeline.compute(pipeline.demo_inputs()), folder, parquet=False)
    return _load(str(folder.resolve()), target.stat().st_mtime)


@lru_cache(maxsize=2)
def boundaries(path: str | None = None):
    """The borough outlines (the committed GeoJSON, or a shapefile), read once per process."""
    return geography.load_boundaries(path)


def notice(data: ReportData) -> Section:
    """The synthetic-data banner (empty for real data)."""
    if not data.synthetic:
        return EMPTY
    return Section(
        h.element(
            "div", h.element("strong", SYNTHETIC_NOTICE), class_="notice synthetic", role="note"
        )
    )


def _p(text: str) -> str:
    """A paragraph of plain text (escaped)."""
    return h.p(text)


def raw(fragment: str) -> h.Markup:
    """HTML made by a trusted writer (a chart, a table, a provenance note) kept as markup."""
    return h.Markup(fragment)


def missing_measures(data: ReportData, geography_level: str = "london") -> list[str]:
    """Titles of the strategy's measures that this build has no figures for (at that level)."""
    have = set(data.estimates["measure_id"])
    return [
        m.title
        for m in measures.strategy_measures()
        if geography_level in m.geographies and m.id not in have
    ]


def measure_href(measure_id: str, depth: int = 1) -> str:
    """The address of a measure's page from a page ``depth`` folders below the site's root
    (borough pages sit in ``boroughs/``, the London page at the root)."""
    return "../" * depth + f"measures/{measure_id}.html"


def links(cells: Iterable[h.Markup], index: pd.Index | None = None) -> pd.Series:
    """A table column of links, kept as markup: pandas would turn a plain list of strings
    (Markup among them) into its string dtype and the links would be escaped as text."""
    return pd.Series(list(cells), dtype=object, index=index)


class Page:
    """A report page over one build's data: what every page class shares.

    ``data_dir`` is the folder holding the build's tables (``reports/data`` when None; the demo
    tables are computed there if absent), ``boundaries_path`` a boundary file for maps (None:
    the committed outline).
    """

    def __init__(
        self, data_dir: str | Path | None = None, boundaries_path: str | None = None
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
        self.data = load(data_dir)
        self.boundaries_path = boundaries_path

    @property
    def shapes(self):
        """The borough outlines for this page's maps."""
        return boundaries(self.boundaries_path)

    def notice(self) -> h.Markup:
        """The synthetic-data banner for this page's data (empty markup for real data)."""
        return h.Markup(notice(self.data).html)

    def missing_measures(self, geography_level: str = "london") -> list[str]:
        return missing_measures(self.data, geography_level)

    def title(self, heading: str, *rest: h.Child) -> Section:
        """The page's h1, then the synthetic notice, then whatever follows."""
        return Section(h.join([h.element("h1", heading), self.notice(), *rest]))
