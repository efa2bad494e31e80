from __future__ import annotations

import pytest

from analysis import measures, schemas

SPEC_IDS = {
    "relationships": [
        "friends_similar",
        "get_on_well",
        "hate_crime",
        "social_isolation",
        "neighbourhood_trust",
    ],
    "participation": ["electoral_registration", "volunteering", "associational_membership"],
    "equality": [
        "employment_gap",
        "gcse_attainment",
        "early_education_2yo",
        "housing_affordability",
        "financial_resilience",
        "digital_exclusion",
        "english_proficiency",
        "citizenship",
    ],
    "outcomes": ["belonging", "good_place_to_live"],
}


def test_eighteen_measures_in_four_domains_with_spec_ids() -> None:
    found: dict[str, list[str]] = {}
    for m in measures.strategy_measures():
        found.setdefault(m.domain, []).append(m.id)
    assert found == SPEC_IDS
    assert len(measures.strategy_measures()) == 18


def test_every_measure_is_fully_described() -> None:
    for m in measures.registry():
        assert m.title and m.definition and m.rationale and m.source
        assert m.polarity in ("up", "down") or (m.is_context and m.polarity == "neutral")
        assert "london" in m.geographies
        assert m.series, m.id
        for s in m.series:
            if s.reference:
                assert s.reference.period and s.reference.value >= 0


def test_series_inside_measures() -> None:
    friends = measures.get("friends_similar")
    assert [s.item for s in friends.series] == [
        "friends_same_age",
        "friends_same_ethnicity",
        "friends_same_income",
        "friends_same_education",
    ]
    gap = measures.get("employment_gap")
    pairs = {(s.variable, s.reference_group, s.comparison_group) for s in gap.series}
    assert ("disability", "Not disabled", "Disabled") in pairs
    assert ("sex", "Male", "Female") in pairs
    others = {c for v, r, c in pairs if v == "ethnic_group"}
    assert others == set(schemas.LEVELS["ethnic_group"]) - {"White"}
    assert all(r == "White" for v, r, c in pairs if v == "ethnic_group")


def test_reference_figures_from_the_strategy() -> None:
    ref = {s.indicator: s.reference for m in measures.registry() for s in m.series if s.reference}
    assert (
        ref["electoral_registration"].value == 86 and ref["electoral_registration"].period == "2016"
    )
    assert ref["volunteering"].value == 26
    assert ref["get_on_well"].value == 91
    assert ref["belonging"].value == 66
    assert ref["digital_exclusion"].value == 7
    assert ref["employment_gap_disability"].value == 27


def test_items_exist_in_their_survey_family() -> None:
    for m in measures.registry():
        if m.is_survey:
            assert set(m.items()) <= set(schemas.survey_items()[m.source_family]), m.id
        else:
            assert m.table in schemas.ADMIN_COLUMNS
            assert set(m.numerator) | ({m.denominator} - {None}) <= set(
                schemas.ADMIN_COLUMNS[m.table]
            )
        assert set(m.breakdowns) <= set(schemas.LEVELS)


def test_inconsistent_registry_is_rejected() -> None:
    bad = """
measures:
  - {id: x, domain: feelings, title: t, definition: d, rationale: r, caveats: null, source_family: pas,
     source: s, unit: "%", polarity: sideways, kind: survey_proportion, uncertainty: survey_design, geographies: [london],
     breakdowns: [], series: [{indicator: x, label: l, item: get_on_well}]}
"""
    with pytest.raises(measures.RegistryError, match="domain 'feelings'.*polarity 'sideways'"):
        measures.load_registry(bad)


def test_unknown_measure_lists_known_ids() -> None:
    with pytest.raises(KeyError, match="volunteering"):
        measures.get("volunteerin")
