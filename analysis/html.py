"""A small HTML builder for the report pages.

Why: page sections were built from f-strings with ``html.escape`` called by hand, so one missed
call would print a borough name or a codebook label unescaped. Here every piece of text is
escaped unless it is already :class:`~markupsafe.Markup` (the output of this module, of a chart
or of a table writer), so escaping is the default and cannot be forgotten.

    >>> str(element("p", "Kensington & Chelsea", class_="lede"))
    '<p class="lede">Kensington &amp; Chelsea</p>'
"""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup, escape

__all__ = ["Markup", "escape", "element", "join", "p", "h2", "h3", "ul", "link", "Child"]

Child = str | Markup | int | float | None
"""Anything a section may contain: text (escaped), markup (kept), numbers, or nothing."""


def _attribute_name(name: str) -> str:
    # ``class_`` and ``for_`` because ``class`` and ``for`` are Python keywords;
    # ``aria_label`` -> ``aria-label``
    return name.rstrip("_").replace("_", "-")


def _attributes(attrs: dict[str, object]) -> Markup:
    parts = []
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        key = _attribute_name(name)
        parts.append(
            Markup(" {}").format(key) if value is True else Markup(' {}="{}"').format(key, value)
        )
    return Markup("").join(parts)


def join(children: Iterable[Child], separator: str | Markup = "") -> Markup:
    """Concatenate children, escaping the text among them; ``None`` is skipped."""
    return Markup(escape(separator)).join(escape(c) for c in children if c is not None)


def element(tag: str, *children: Child, **attrs: object) -> Markup:
    """``<tag attrs>children</tag>``; attribute values and text children are escaped."""
    return Markup("<{}{}>{}</{}>").format(
        Markup(tag), _attributes(attrs), join(children), Markup(tag)
    )


def p(*children: Child, **attrs: object) -> Markup:
    return element("p", *children, **attrs)


def h2(*children: Child, **attrs: object) -> Markup:
    return element("h2", *children, **attrs)


def h3(*children: Child, **attrs: object) -> Markup:
    return element("h3", *children, **attrs)


def ul(items: Iterable[Child], **attrs: object) -> Markup:
    """A list with one ``<li>`` per item."""
    return element("ul", *(element("li", i) for i in items), **attrs)


def link(text: Child, href: str, **attrs: object) -> Markup:
    return element("a", text, href=href, **attrs)
