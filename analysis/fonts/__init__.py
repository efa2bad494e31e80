"""The reports' typeface, shipped with the project: Liberation Sans 2.1.5 (SIL OFL 1.1, ``OFL.txt``).

Why ship it: WeasyPrint and Matplotlib would otherwise draw whatever the machine's fontconfig
or font cache offers for "Arial" or "Helvetica" (DejaVu Sans on a bare Debian machine, Liberation
Sans once some other package has installed it), so the same inputs gave different PDFs and
charts, with different line breaks. Liberation Sans has Arial's (and so Helvetica's) metrics,
so the pages keep the widths they were designed for, and the table widths
(:mod:`analysis.tables`) are computed from the same files that are drawn.

The files are registered under :data:`FAMILY`, a name no installed font has, so no system
configuration (an alias, a substitution rule, another version of Liberation Sans) can put
another font in their place.
"""

from __future__ import annotations

import functools
from pathlib import Path

FOLDER = Path(__file__).parent
FAMILY = "LSI Report Sans"  # the family name the PDFs and charts ask for: only these files have it

# (weight, style) -> file
FACES = {
    ("normal", "normal"): "LiberationSans-Regular.ttf",
    ("bold", "normal"): "LiberationSans-Bold.ttf",
    ("normal", "italic"): "LiberationSans-Italic.ttf",
    ("bold", "italic"): "LiberationSans-BoldItalic.ttf",
}


def path(weight: str = "normal", style: str = "normal") -> Path:
    """The file of one face, e.g. ``path("bold")``."""
    return FOLDER / FACES[(weight, style)]


def font_face_css() -> str:
    """``@font-face`` rules declaring the four faces as :data:`FAMILY`, by ``file:`` URL (for
    WeasyPrint, which reads them once per process and embeds subsets in each PDF)."""
    rules = [
        f'@font-face {{ font-family: "{FAMILY}"; font-weight: {weight}; font-style: {style}; '
        f'src: url("{(FOLDER / name).as_uri()}"); }}'
        for (weight, style), name in FACES.items()
    ]
    return "\n".join(rules)


def pdf_css() -> str:
    """The PDF's font rules: the faces, and every element set in them.

    ``font-family`` is inherited, but form controls and ``code`` get their own in user-agent
    style sheets, so they are named too.
    """
    return (
        font_face_css()
        + f'\nhtml, body, input, code, pre, kbd, samp {{ font-family: "{FAMILY}"; }}'
    )


def use_in_matplotlib() -> None:
    """Register the faces with Matplotlib as :data:`FAMILY` and make it the charts' only font.

    Matplotlib finds fonts through its own font list (built from the machine's fonts), and of
    two fonts of one name it keeps the first it listed, which could be an installed copy of
    another version. Renamed to :data:`FAMILY`, the shipped files cannot be confused with
    anything installed. With no fallback family, a character outside the font would show as a
    missing glyph (and a warning) on every machine alike, never as another machine's font.
    """
    import matplotlib as mpl

    _register_with_matplotlib()
    # set each time: a style sheet applied since (plt.style.use) sets its own families
    mpl.rcParams["font.family"] = [FAMILY]
    mpl.rcParams["font.sans-serif"] = [FAMILY]


@functools.cache
def _register_with_matplotlib() -> None:
    """Add the faces to Matplotlib's font list under :data:`FAMILY`, once per process."""
    import dataclasses

    from matplotlib import font_manager

    for name in FACES.values():
        font_manager.fontManager.addfont(FOLDER / name)
        entry = font_manager.fontManager.ttflist.pop()  # the entry addfont just appended
        font_manager.fontManager.ttflist.append(dataclasses.replace(entry, name=FAMILY))
