"""The programme evaluation page (analysis.evaluation_page) shows what it did not write as
text: a data file's name reaches the page escaped, and the page's markup stays markup."""

from __future__ import annotations

import html

from analysis import evaluation_page
from analysis.sources import evaluation_demo


def test_a_data_file_name_is_shown_as_text(tmp_path) -> None:
    path = tmp_path / "sites <b> & co.csv"
    evaluation_demo.generate("esol_plus").to_csv(path, index=False)
    page = evaluation_page.EvaluationPage("esol_plus", path)
    about = page.about().html
    assert "Source: Evaluation data file sites &lt;b&gt; &amp; co.csv." in about
    assert "<b>" not in about
    # the page's own markup is kept: headings, lists and the success measures' codes
    assert about.startswith("<h2>About this evaluation</h2>")
    assert "<li><code>english_difficulty</code>: " in about
    # a real file has no synthetic-data notice, and its header says so by leaving it out
    assert "notice synthetic" not in page.header().html
    assert "notice synthetic" in evaluation_page.EvaluationPage("esol_plus").header().html
    # every sentence of the bottom line is on the page, as text
    shown = html.unescape(page.bottom_line().html)
    assert all(s in shown for s in page.bottom_line_sentences())
