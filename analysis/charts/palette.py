"""The house colours: the Analysis Function palettes (``afcharts``), the greys that carry
meaning (each with its contrast against white, WCAG 1.4.11) and the marks for a verdict
against London.

Kept apart from the drawing code so that a page or a thematic chart can pick a colour without
importing the whole chart machinery, and so that every colour with a meaning is in one place.
"""

from __future__ import annotations

from afcharts.af_colours import get_af_colours

CATEGORICAL = get_af_colours("categorical")
SEQUENTIAL = get_af_colours("sequential", number_of_colours=5)
DARK_BLUE, TURQUOISE, DARK_PINK, ORANGE, DARK_GREY, LIGHT_PURPLE = CATEGORICAL
MID_GREY = "#BFBFBF"


def _ramp(colour: str) -> list[str]:
    """Five steps of one hue, darkest first, as the Analysis Function's sequential palette
    steps its dark blue: darker, the colour, then mixed with 35%, 60% and 80% white."""
    from matplotlib.colors import to_hex, to_rgb

    r, g, b = to_rgb(colour)
    darker = to_hex((0.6 * r, 0.6 * g, 0.6 * b))
    return [darker] + [
        to_hex((r + (1 - r) * w, g + (1 - g) * w, b + (1 - b) * w)) for w in (0, 0.35, 0.6, 0.8)
    ]


# a second variable's map beside a first (registration and churn): its own hue, so the two
# maps' classes are never read on one scale
SEQUENTIAL_SECOND = _ramp(CATEGORICAL[2])
# meaningful marks need 3:1 against the white background (WCAG 1.4.11); MID_GREY (1.8:1) and the
# light interval fill (about 1.5:1) are for de-emphasis only
MARK_GREY = "#767676"  # grey marks that carry meaning (not compared, intervals): 4.5:1
INTERVAL_EDGE = SEQUENTIAL[2]  # the limits of an interval band, 4.9:1
BAND_GREY = "#808080"  # the spine chart's middle half of boroughs: 3.2:1 on its light grey bar
# better / worse / similar than London, with shapes that carry the meaning without colour
VERDICT_STYLE = {
    "better": {"color": TURQUOISE, "marker": "^", "label": "Better than London"},
    "worse": {"color": DARK_PINK, "marker": "v", "label": "Worse than London"},
    # a neutral row or a population group: a difference, but neither better nor worse
    "higher": {"color": LIGHT_PURPLE, "marker": "^", "label": "Higher than London"},
    "lower": {"color": DARK_GREY, "marker": "v", "label": "Lower than London"},
    "similar": {"color": DARK_BLUE, "marker": "o", "label": "Similar to London"},
    "not_compared": {"color": MARK_GREY, "marker": "s", "label": "Not compared"},
}
