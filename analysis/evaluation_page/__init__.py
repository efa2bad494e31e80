"""The programme evaluation page: the bottom line first, then the evidence.

Every verdict, robustness note and count on the page comes from :mod:`analysis.evaluation_stats`
(the evaluation's rulebook) and every number from the one computation made when the page is
built; the sections only put them into words, tables and charts. The notebook
``notebooks/programme_evaluation.ipynb`` displays the sections in order.

One module per concern; every public name is available here, as ``evaluation_page.X``:

* :mod:`~analysis.evaluation_page.page`: :class:`EvaluationPage`, its computation and sections;
* :mod:`~analysis.evaluation_page.words`: numbers as the page writes them, and its sentences;
* :mod:`~analysis.evaluation_page.figures`: the page's charts;
* :mod:`~analysis.evaluation_page.result_tables`: the tidy results table and the London context.
"""

from __future__ import annotations

from analysis.evaluation_page.figures import EVAL_STYLE
from analysis.evaluation_page.page import SYNTHETIC_NOTICE, EvaluationPage
from analysis.evaluation_page.words import method_rule_text

__all__ = ["EVAL_STYLE", "EvaluationPage", "SYNTHETIC_NOTICE", "method_rule_text"]
