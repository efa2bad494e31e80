"""Tracking the state of social integration in London (*All of Us*, GLA 2018, Part 4).

Importing the package imports nothing else: each module is imported when it is used.

The public API, by what you want to do:

* **Estimate a survey measure by any groups** (researchers): ``api.estimate("volunteering",
  by=["age_band", "sex"], period="2018/19")`` returns a tidy table with the build's intervals,
  bases and flags, on the synthetic demo or on waves added with a codebook
  (``notebooks/explore.ipynb``).
* **Read the measures**: ``measures.registry()``, ``measures.get(id)``,
  ``measures.survey_items()`` (the registry, ``data/measures.yaml``).
* **Compute every estimate**: ``pipeline.compute(pipeline.demo_inputs())`` returns the
  estimates, changes and trends a build writes; ``pipeline.read_estimates(path)`` reads
  ``estimates.csv`` back.
* **Add survey waves**: ``sources.waves.load_wave(data, codebook)`` and
  ``sources.waves.add_waves(inputs, waves)`` (``docs/codebook.md``).
* **Compare and rank**: ``compare.ranks(...)``, ``compare.changes(...)``; the rulebook that
  words every verdict is ``rules``.
* **Places**: ``geography`` (codes, names, Inner/Outer London, boundaries).
* **Low-level design-based estimation**: ``survey.Design``, ``survey.domain_means``.
* **Build the reports**: ``run_all.py`` (or ``build.build(...)``).
"""

import os as _os

# OpenBLAS, numpy's linear algebra, keeps its idle threads spinning for 2**28 cycles (about a
# tenth of a second) after each call it shares out before they sleep. Between the survey
# estimator's many calls they never slept: a quarter of the data step's CPU went on spinning,
# taken from whatever else runs on the machine. 2**4 cycles puts them to sleep at once. No
# number changes (the same threads share out the same work), a value the user set is kept, and
# it must be set before numpy is first imported, hence here.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

__all__ = [
    "api",
    "compare",
    "geography",
    "measures",
    "pipeline",
    "rules",
    "schemas",
    "survey",
]
