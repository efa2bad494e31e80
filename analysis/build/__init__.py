"""The report build: estimates once, then every notebook executed, converted to HTML and PDF.

* The data step (:mod:`.datastep`, :mod:`analysis.pipeline`) runs once and is skipped when
  its inputs and the library are unchanged.
* Notebooks are parameterised by papermill and run in worker processes (:mod:`.workers`),
  each in the worker's own IPython shell (:mod:`.execution`), reused from notebook to
  notebook (its namespace is reset in between), so the cost of starting Python and importing
  pandas, matplotlib and geopandas is paid once per worker, not once per report, and no cell
  crosses a kernel's messaging.
* Each executed notebook becomes accessible HTML with the code hidden and a tagged PDF
  (:mod:`.render`; the library internals it patches are in :mod:`.patches`, behind a version
  check).
* A report is rebuilt only when its cache key (:mod:`.keys`) changes: notebook, parameters,
  inputs and library version. Every file is written atomically, so a failing notebook leaves
  the last good report in place; the build lists failures and exits non-zero.
* What a build makes is one frozen :class:`BuildConfig` (:mod:`.config`), which the manifest
  records (:mod:`.manifest`); :mod:`.planning` lists the reports and :mod:`.index` writes the
  site's index.

    from analysis.build import BuildConfig, build
    result = build(BuildConfig(out="site", only=("camden",), jobs=2))
"""

from __future__ import annotations

from analysis import pages
from analysis.build.boundaries import boundaries_hash, check_boundaries
from analysis.build.config import NOTEBOOKS, BuildConfig
from analysis.build.datastep import ESTIMATE_FILES, estimates_current, estimates_step
from analysis.build.driver import BuildResult, build
from analysis.build.index import search_text, write_index
from analysis.build.keys import job_key, library_version
from analysis.build.patches import NO_ALT_TEXT, give_images_alt_text, png_pixel_data
from analysis.build.planning import (
    DEMO_ONLY_ANALYSES,
    RESEARCH_NOTEBOOKS,
    Job,
    JobResult,
    plan,
    select,
)
from analysis.build.render import (
    SUBSETTER_HINT,
    images_by_reference,
    notebook_html,
    pdf_font_subsetter,
    write_pdf,
)
from analysis.build.workers import GC_THRESHOLDS, run_job
from analysis.pages import render_page, site_context

__all__ = [
    "DEMO_ONLY_ANALYSES",
    "ESTIMATE_FILES",
    "GC_THRESHOLDS",
    "NOTEBOOKS",
    "NO_ALT_TEXT",
    "RESEARCH_NOTEBOOKS",
    "SUBSETTER_HINT",
    "BuildConfig",
    "BuildResult",
    "Job",
    "JobResult",
    "boundaries_hash",
    "build",
    "check_boundaries",
    "estimates_current",
    "estimates_step",
    "give_images_alt_text",
    "images_by_reference",
    "job_key",
    "library_version",
    "notebook_html",
    "pages",
    "pdf_font_subsetter",
    "plan",
    "png_pixel_data",
    "render_page",
    "run_job",
    "search_text",
    "select",
    "site_context",
    "write_index",
    "write_pdf",
]
