"""The HTML helper escapes text by default and keeps markup it produced."""

from analysis import html


def test_text_is_escaped_and_markup_kept():
    inner = html.element("strong", "<b> & co")
    out = html.p("Kensington & Chelsea: ", inner, class_="lede")
    assert (
        str(out)
        == '<p class="lede">Kensington &amp; Chelsea: <strong>&lt;b&gt; &amp; co</strong></p>'
    )


def test_attributes_escaped_none_skipped_booleans_bare():
    out = html.element("a", "x", href='a"b', aria_label="go <", hidden=True, title=None, tabindex=0)
    assert str(out) == '<a href="a&#34;b" aria-label="go &lt;" hidden tabindex="0">x</a>'


def test_join_and_list():
    assert str(html.join(["a<", None, html.Markup("<br>")], ", ")) == "a&lt;, <br>"
    assert str(html.ul(["one", "two & three"])) == "<ul><li>one</li><li>two &amp; three</li></ul>"
    assert (
        str(html.link("Camden", "borough/camden.html"))
        == '<a href="borough/camden.html">Camden</a>'
    )
