"""Real inputs: the published statistics, turned into the library's canonical inputs.

``real_inputs(mirror)`` reads every published source we have a loader for (downloaded once
into a cache, or read from ``mirror``), joins what belongs together and returns
:class:`analysis.sources.inputs.Inputs` with ``synthetic=False``. Measures whose source is not
published openly (the survey microdata, released under licence) get no input here: their
reports say so, and survey waves can be added with codebooks (:mod:`analysis.sources.waves`).

Choices, each stated in the measure's source label so that the reports carry it (a proxy
also in :data:`PROXIES`):

* **Electoral registration** uses the EU referendum electorate (Electoral Commission, 2016)
  as a proxy for ONS local government electors. The proxy leaves out resident EU citizens, so
  it understates local registration. Adults aged 18+ for mid-2016 are estimated as the mid-2019
  adults scaled by each borough's population change from mid-2016 to mid-2019. These are the
  only age estimates we have. Where a borough's population changed by more than 15% between
  those years (the City of London) the scaled denominator is doubtful: the figure is flagged
  ``[u]`` with its reason and not compared with London (:func:`doubtful_adults`).
* **Hate crime** sums the distinct strands (racist and religious, homophobic, disability,
  transgender) for complete calendar years, over the MYEB3 mid-year population of that year.
* **GCSE** uses a standard 9-4 pass in English and maths (A*-C before 2017), the successor of
  the strategy's 5 A*-C measure.
* **Employment gaps** use the published APS rates and confidence intervals (GLA, London
  Datastore); the rate of all people aged 16-64 (sheet ``Persons``) is the whole-population
  series beside the group rates.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import geography, neighbours
from analysis.outputs import file_sha256
from analysis.sources import published
from analysis.sources.inputs import Inputs
from analysis.sources.interface import refuse_base

SOURCE_NOTES = {
    "electoral_registration": (
        "EU referendum electorate per adult, standing in for local government electors per adult. "
        "Electorate: Electoral Commission, EU referendum results by counting area, 23 June 2016 (the "
        "referendum franchise leaves out resident EU citizens, so it understates local government "
        "registration). Adults: ONS mid-2019 population estimates aged 18 and over, scaled to mid-2016 by "
        "each borough's population change from mid-2016 (ONS MYEB3) to mid-2019"
    ),
    "hate_crime": (
        "Metropolitan Police Service hate crime (racist and religious, homophobic, disability, "
        "transgender) by calendar year; ONS mid-year population (MYEB3)"
    ),
    "gcse_attainment": (
        "DfE/GLA GCSE results by borough: standard 9-4 pass in English and maths "
        "(A*-C before 2017), by school location"
    ),
    "population_churn": "ONS mid-year estimates, components of change (MYEB3), 2018 edition",
    "employment_gap": "ONS Annual Population Survey via the London Datastore (published rates and intervals)",
    "turnout_local_elections": "GLA London Borough Profiles (2017 edition): turnout at the 2014 local elections",
    "born_abroad": "GLA London Borough Profiles (2017 edition): residents born abroad, 2015 (APS)",
}
# the measures whose figures here stand in for the measure (their rows' ``proxy`` column; the
# pages print the source beginning "Proxy: " and label the figures "(proxy)")
PROXIES = frozenset({"electoral_registration"})


def _adults_2016(population: pd.DataFrame, adults_2019: pd.DataFrame) -> pd.DataFrame:
    pop2016 = population[population["year"] == 2016].set_index("area_code")["population"]
    a = adults_2019.set_index("area_code")
    scaled = (a["adults"] * pop2016.reindex(a.index) / a["population"]).round()
    return scaled.rename("adults").reset_index().assign(year=2016)


# Scaling mid-2019 adults back to mid-2016 by total population assumes the adult share stayed
# put; where the population itself changed by more than this between the two years, that
# assumption (and so the denominator) is doubtful.
SCALING_CHANGE_LIMIT = 0.15


def doubtful_adults(
    population: pd.DataFrame,
    adults_2019: pd.DataFrame,
    electors: pd.DataFrame,
    limit: float = SCALING_CHANGE_LIMIT,
) -> pd.DataFrame:
    """Boroughs whose scaled mid-2016 adults are doubtful: population change from mid-2016 to
    mid-2019 beyond ``limit`` (the City of London: 7,246 to 9,721). Columns ``area_code``,
    ``period`` and ``why`` (the populations, the change and the unscaled rate, from the data)."""
    pop2016 = population[population["year"] == 2016].set_index("area_code")["population"]
    a = adults_2019.set_index("area_code")
    e = electors[electors["year"] == 2016].set_index("area_code")["electors"]
    change = a["population"] / pop2016.reindex(a.index) - 1
    rows = []
    for code in change.index[(change.abs() > limit).to_numpy()]:
        unscaled = 100 * e.get(code, float("nan")) / a.loc[code, "adults"]
        rows.append(
            {
                "area_code": code,
                "period": "2016",
                "why": (
                    f"the population went from {pop2016[code]:,.0f} (mid-2016) to {a.loc[code, 'population']:,.0f} (mid-2019), "
                    f"{100 * change[code]:+.0f}%, so mid-2019 adults scaled back to 2016 are doubtful (over unscaled mid-2019 "
                    f"adults the rate is {unscaled:.1f}%)"
                ),
            }
        )
    return pd.DataFrame(rows, columns=["area_code", "period", "why"])


def _profile_table(profiles: pd.DataFrame, column: str, year: int, name: str) -> pd.DataFrame:
    values = profiles[column]
    codes = [
        c for c in values.index if c in set(geography.borough_codes()) | set(geography.AGGREGATES)
    ]
    return pd.DataFrame(
        {"area_code": codes, "year": year, name: values.reindex(codes).to_numpy(dtype=float)}
    )


# the published sources a real build reads (the boundaries come separately, with --boundaries)
SOURCE_KEYS = (
    "population_components",
    "population_age",
    "electorate_proxy",
    "hate_crime",
    "borough_profiles_csv",
    "gcse",
    "employment_ethnicity",
    "employment_sex_disability",
)


def real_inputs(
    mirror: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    *,
    verify: bool = True,
) -> Inputs:
    """Canonical inputs from the real published files (see the module docstring).

    ``verify=False`` accepts editions other than the registered ones (new releases of a
    table); each loader still checks the file's layout and refuses one it does not know.
    """

    def load(key: str):
        return published.load(key, mirror=mirror, cache_dir=cache_dir, verify=verify)

    population = load("population_components")
    adults_2019 = load("population_age")
    electors = load("electorate_proxy")
    hate = load("hate_crime")
    profiles = load("borough_profiles_csv")
    electoral = electors.merge(
        _adults_2016(population, adults_2019), on=["area_code", "year"], how="inner"
    )
    hate = hate.merge(
        population[["area_code", "year", "population"]], on=["area_code", "year"], how="inner"
    )
    admin = {
        "population": population[["area_code", "year", "population", *published.FLOWS]],
        "electoral": electoral[["area_code", "year", "electors", "adults"]],
        "hate_crime": hate[["area_code", "year", "hate_crimes", "population"]],
        "gcse": load("gcse")[["area_code", "year", "pupils", "pupils_achieving"]],
        "turnout": _profile_table(profiles, "turnout_at_2014_local_elections", 2014, "turnout"),
        "born_abroad": _profile_table(
            profiles, "pct_of_resident_population_born_abroad_2015", 2015, "born_abroad"
        ),
    }
    persons = published.load_employment_all_persons(
        published.fetch(
            "employment_sex_disability", mirror=mirror, cache_dir=cache_dir, verify=verify
        )
    )
    employment = pd.concat(
        [persons, load("employment_ethnicity"), load("employment_sex_disability")],
        ignore_index=True,
    )
    from analysis.sae import covariates

    # the small area models' borough covariates (used when survey waves are added by codebook)
    area_covariates = covariates.from_profiles(
        profiles, source=published.get_source("borough_profiles_csv").files[0]
    )
    return Inputs(
        admin=admin,
        published={"employment_gap": employment},
        synthetic=False,
        source_notes=SOURCE_NOTES,
        proxies=PROXIES,
        area_covariates=area_covariates,
        neighbours=neighbours.real(profiles),
        unreliable={"electoral_registration": doubtful_adults(population, adults_2019, electors)},
    )


@dataclass
class PublishedSource:
    """The published statistics as a source of a build's inputs (see
    :mod:`analysis.sources.interface`): the files of :data:`SOURCE_KEYS`, from ``mirror`` or
    the download cache, read by :func:`real_inputs`.

    With ``verify`` the files are the registered editions (``fetch`` refuses any other), so
    their checksums are known without opening them. Without it they are fetched and hashed:
    whatever edition is there, so a new edition gives a new key and rebuilt reports.
    """

    mirror: str | os.PathLike | None = None
    cache_dir: str | os.PathLike | None = None
    verify: bool = True
    name: str = "real"
    extends: bool = False
    _read: dict[str, str] | None = field(default=None, init=False, repr=False)

    def read_files(self) -> dict[str, str]:
        """Every published file the real build reads (``key (file names)``) and its sha256."""
        if self._read is None:
            files = {}
            for key in SOURCE_KEYS:
                source = published.get_source(key)
                label = f"{key} ({', '.join(source.files)})"
                if self.verify:
                    files[label] = ",".join(source.sha256)
                else:
                    first = published.fetch(
                        key, mirror=self.mirror, cache_dir=self.cache_dir, verify=False
                    )
                    files[label] = ",".join(
                        file_sha256(first.parent / name) for name in source.files
                    )
            self._read = files
        return dict(self._read)

    def files(self) -> dict[str, str]:
        """:meth:`read_files`, and the mirror folder they were read from."""
        files = self.read_files()
        if self.mirror:
            files["mirror"] = str(Path(self.mirror).resolve())
        return files

    def key(self) -> str:
        """``real:`` and a hash of the checksums of every file read and of the mirror."""
        h = hashlib.sha256()
        for label, digest in self.read_files().items():
            h.update(f"{label}:{digest}".encode())
        h.update(str(self.mirror or "").encode())
        return "real:" + h.hexdigest()

    def inputs(self, base: Inputs | None = None) -> Inputs:
        refuse_base(self, base)
        return real_inputs(self.mirror, self.cache_dir, verify=self.verify)
