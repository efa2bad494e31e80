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
