"""The registry is the one place: survey items, the demo's models of them and the words pages
use for a measure come from ``measures.yaml`` (checked against the demo profile at load)."""

from __future__ import annotations

import copy
import typing

import numpy as np
import pytest

from analysis import geography, measures, rules, schemas
from analysis.sources import demo

# the items each family carried when they were listed by hand in schemas.py: the registry
# gives the same families and items, in the same order (the demo's draws depend on it)
HAND_LISTED = {
    "ukhls": (
        "friends_same_age",
        "friends_same_ethnicity",
        "friends_same_income",
        "friends_same_education",
        "no_one_to_rely_on",
        "org_member",
        "belongs_neighbourhood",
    ),
    "pas": ("get_on_well", "trust_neighbours", "good_place_to_live"),
    "taking_part": ("volunteered",),
    "aps_lfs": ("employed", "no_internet_3m", "language_difficulty"),
    "hbai_frs": ("housing_cost_over_third", "savings_under_1500"),
}

MEASURE = """
  - {{id: {id}, domain: participation, title: T, definition: d, rationale: r, caveats: null,
     source_family: {family}, source: s, unit: "%", polarity: up, kind: survey_proportion,
     uncertainty: survey_design, geographies: [london], breakdowns: [sex],
     series: [{{indicator: {id}, label: L, item: {item}}}]}}
"""


def _registry(*entries: str) -> list[measures.Measure]:
    return measures.load_registry("measures:\n" + "".join(entries))


def test_survey_items_come_from_the_registry_in_its_order() -> None:
    assert measures.survey_items() == HAND_LISTED
    assert schemas.survey_items() == HAND_LISTED
    assert list(schemas.SURVEY_ITEMS) == list(HAND_LISTED)  # the old name still answers


def test_a_new_measure_brings_its_item_into_its_family() -> None:
    extra = _registry(
        MEASURE.format(id="a", family="pas", item="get_on_well"),
        MEASURE.format(id="b", family="pas", item="new_item"),
        MEASURE.format(id="c", family="new_survey", item="other_item"),
    )
    assert measures.survey_items(extra) == {
        "pas": ("get_on_well", "new_item"),
        "new_survey": ("other_item",),
    }


def test_an_item_belongs_to_one_survey_family() -> None:
    with pytest.raises(measures.RegistryError, match="'b'.*'get_on_well'.*'ukhls'.*'pas'"):
        _registry(
            MEASURE.format(id="a", family="pas", item="get_on_well"),
            MEASURE.format(id="b", family="ukhls", item="get_on_well"),
        )


def test_gap_measures_carry_the_words_for_their_rates() -> None:
    gap = measures.get("employment_gap")
    assert gap.rate_label == "Employment rate, people aged 16 to 64"
    assert gap.rates_title == "Employment rates"
    assert {s.short for s in gap.series} >= {"not disabled minus disabled", "men minus women"}
    assert all(s.short == s.label for s in measures.get("friends_similar").series)
    text = (
        measures.resources.files("analysis.data")
        .joinpath("measures.yaml")
        .read_text(encoding="utf-8")
    )
    without = text.replace("    rates_title: Employment rates\n", "")
    with pytest.raises(measures.RegistryError, match="'employment_gap'.*rates_title"):
        measures.load_registry(without)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kind", "survey_mean", "kind 'survey_mean' not in"),
        ("unit", "per cent", "unit 'per cent' not in"),
        ("uncertainty", "jackknife", "uncertainty 'jackknife' not in"),
        ("geographies", "[london, ward]", "geographies"),
    ],
)
def test_closed_vocabularies_are_checked_at_load(field: str, value: str, message: str) -> None:
    entry = MEASURE.format(id="a", family="pas", item="get_on_well")
    old = {
        "kind": "kind: survey_proportion",
        "unit": 'unit: "%"',
        "uncertainty": "uncertainty: survey_design",
        "geographies": "geographies: [london]",
    }[field]
    with pytest.raises(measures.RegistryError, match=message):
        _registry(entry.replace(old, f"{field}: {value}"))


def test_vocabularies_are_one_definition() -> None:
    assert set(measures.UNCERTAINTIES) == set(rules.UNCERTAINTY_MODELS)
    assert set(typing.get_args(schemas.Flag)) == {
        "",
        rules.SUPPRESSED,
        rules.LOW_RELIABILITY,
        rules.NOT_AVAILABLE,
    }
    for m in measures.registry():
        assert m.domain in measures.DOMAINS and m.kind in measures.KINDS
        assert m.polarity in measures.POLARITIES and m.unit in measures.UNITS


def test_city_of_london_is_one_named_code() -> None:
    assert geography.CITY_OF_LONDON_CODE in geography.borough_codes()
    assert geography.name_of(geography.CITY_OF_LONDON_CODE) == "City of London"


# --------------------------------------------------------------------------------------
# The demo profile, checked against the registry


def test_the_shipped_profile_models_every_item() -> None:
    demo.check_profile(demo.profile())


def test_a_survey_measure_without_a_demo_model_names_the_measure_and_the_entry() -> None:
    registry = (
        *measures.registry(),
        *_registry(MEASURE.format(id="trust_police", family="pas", item="trusts_police")),
    )
    with pytest.raises(
        demo.DemoProfileError,
        match=r"demo_profile.yaml: measure 'trust_police' reads the survey item 'trusts_police', "
        r"which has no model under 'items'",
    ):
        demo.check_profile(demo.profile(), registry)
    profile = copy.deepcopy(demo.profile())
    profile["items"]["trusts_police"] = {"level": 70, "trend": 0.0}
    demo.check_profile(profile, registry)  # with its model, the demo can make it


def test_a_survey_family_without_a_sample_design_is_named() -> None:
    registry = (
        *measures.registry(),
        *_registry(MEASURE.format(id="new", family="lssi", item="x_item")),
    )
    profile = copy.deepcopy(demo.profile())
    profile["items"]["x_item"] = {"level": 50}
    with pytest.raises(demo.DemoProfileError, match="measure 'new'.*family 'lssi'.*'families'"):
        demo.check_profile(profile, registry)


def test_a_profile_item_no_measure_reads_is_an_error() -> None:
    profile = copy.deepcopy(demo.profile())
    profile["items"]["volunterred"] = {"trend": 0.1}
    with pytest.raises(demo.DemoProfileError, match=r"\['volunterred'\].*read by no measure"):
        demo.check_profile(profile)


def test_population_mixes_come_from_the_profile_in_level_order() -> None:
    mix = demo.population()
    assert mix.age_inner == pytest.approx([0.14, 0.27, 0.20, 0.15, 0.11, 0.13])
    assert mix.ethnic_london == pytest.approx([0.60, 0.05, 0.07, 0.06, 0.13, 0.09])
    assert mix.tenure_outer == pytest.approx([0.58, 0.17, 0.25])
    for shares in (mix.age_inner, mix.age_outer, mix.ethnic_london, mix.nssec_inner):
        assert np.isclose(shares.sum(), 1.0)
    young = schemas.LEVELS["age_band"].index("16-24")
    assert mix.nssec_by_age[young] == pytest.approx([0.15, 0.15, 0.25, 0.45])
    with pytest.raises(demo.DemoProfileError, match="population tenure.inner.*Private rent"):
        demo.level_shares("tenure", {"Owner occupier": 0.5, "Social rent": 0.5}, "tenure.inner")


def test_an_item_with_no_reference_figure_needs_a_level() -> None:
    registry = (
        *measures.registry(),
        *_registry(MEASURE.format(id="trust_police", family="pas", item="trusts_police")),
    )
    profile = copy.deepcopy(demo.profile())
    profile["items"]["trusts_police"] = {"trend": 0.2}
    with pytest.raises(demo.DemoProfileError, match="no reference figure.*'level'"):
        demo.check_profile(profile, registry)
