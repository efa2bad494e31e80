"""New survey waves from data providers' files, read through a YAML codebook.

Evaluators receive survey microdata under licence as CSV, SPSS (``.sav``/``.zsav``), Stata
(``.dta``) or Parquet files, with the provider's own variable names and codes. A *codebook*
(one small YAML file per data file) names the survey and its wave, maps the file's design
variables, demographics and items onto the canonical survey schema of
:mod:`analysis.schemas`, and declares what the file lacks. Nothing else needs code::

    from analysis import pipeline
    from analysis.sources import waves

    wave = waves.load_wave("lssi_wave1.sav", "lssi_wave1.yaml")
    inputs = waves.add_waves(pipeline.Inputs(), [wave])      # or onto the demo's inputs

One file may carry the items of several measures, whatever survey family the registry files
them under: the wave feeds every family whose items it maps. ``docs/codebook.md`` is the
reference, with a worked example.

The package is split by concern: :mod:`.codebook` reads and checks the YAML on its own,
:mod:`.files` reads the provider's file, :mod:`.mapping` applies one to the other (every
problem found is reported at once, through :mod:`.problems`; values are compared as
:mod:`.matching` says), and :mod:`.series` adds waves to a build's inputs.
"""

from analysis.sources.waves.codebook import (
    Codebook,
    Condition,
    VariableSpec,
    canonical_columns,
    load_codebook,
    parse_codebook,
)
from analysis.sources.waves.files import read_wave_file
from analysis.sources.waves.mapping import apply_codebook
from analysis.sources.waves.problems import CodebookError, Problem, ValueCount, WaveMismatchError
from analysis.sources.waves.series import LoadedWave, add_waves, family_frames, load_wave

__all__ = [
    "Codebook",
    "CodebookError",
    "Condition",
    "LoadedWave",
    "Problem",
    "ValueCount",
    "VariableSpec",
    "WaveMismatchError",
    "add_waves",
    "apply_codebook",
    "canonical_columns",
    "family_frames",
    "load_codebook",
    "load_wave",
    "parse_codebook",
    "read_wave_file",
]
