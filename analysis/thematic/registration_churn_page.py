"""The registration-against-churn report page: its sections, read from the build's estimates
and nothing else, with the statistics of :mod:`analysis.thematic.registration_churn`."""

from __future__ import annotations

from pathlib import Path

from analysis import charts, geography, measures, provenance, series, tables
from analysis import html as h
from analysis.html import Markup
from analysis.report import Section, boundaries, load, notice
from analysis.thematic.registration_churn import (
    CITY,
    STRATEGY,
    Y_LABEL,
    Y_LABEL_PROXY,
    X,
    Y,
    aggregate_figures,
    borough_pair,
    fits_table,
    headline,
    interpretation,
    regress,
    residual_reading,
    rests_on_city,
    signed,
)
from analysis.thematic.registration_churn_charts import (
    influence_chart,
    paired_maps,
    residual_map,
    scatter,
)


class RegistrationChurnPage:
    def __init__(
        self,
        data_dir: str | Path | None = None,
        boundaries_path: str | None = None,
        period: str | None = None,
    ):
        self.data = load(data_dir)
        self.boundaries_path = boundaries_path
        self.pair, self.period = borough_pair(self.data.estimates, period)
        self.reg = regress(self.pair)
        e = self.data.estimates
        london = {
            ind: e.loc[
                (e.indicator == ind)
                & (e.period == self.period)
                & (e.area_code == geography.LONDON_CODE)
            ].iloc[0]
            for ind in (X, Y)
        }
        self.sources = {ind: row["source"] for ind, row in london.items()}
        self.proxies = {ind: bool(row["proxy"]) for ind, row in london.items()}
        self.proxy = self.proxies[Y]

    def header(self) -> Section:
        return Section(
            h.join(
                [
                    h.element("h1", "Electoral registration and population churn"),
                    Markup(notice(self.data).html),
                    h.p(
                        "Do boroughs where more people move in and out each year have fewer adults "
                        "on the electoral register?",
                        class_="lede",
                    ),
                    h.p(
                        "The strategy notes that registration is high across London but lower in boroughs with high population "
                        "churn, where people may struggle to put down roots, naming Westminster, Kensington and Chelsea, Tower "
                        f'Hamlets and Camden ({STRATEGY}, "London\'s data", Participation, and Figure 3). This page tests that '
                        f"observation across all 33 local authorities in {self.period}."
                    ),
                    h.element(
                        "div",
                        provenance.proxy_note(
                            "Electoral registration", self.sources[Y], self.proxy
                        ),
                        class_="notice",
                        role="note",
                    )
                    if self.proxy
                    else None,
                    h.p(headline(self.reg, self.period), class_="lede"),
                ]
            )
        )

    def maps(self) -> Section:
        p = self.pair
        low = p.nsmallest(1, "registration").iloc[0]
        high = p.nlargest(1, "churn").iloc[0]
        title = (
            f"{self.period}: registration was lowest in {low.area_name} ({low.registration:.1f}%) and churn highest "
            f"in {high.area_name} ({high.churn:.1f} moves per 100 residents)"
        )
        chart = paired_maps(p, boundaries(self.boundaries_path), period=self.period, title=title)
        return Section(
            h.join(
                [h.h2("Where registration is low and churn is high"), Markup(charts.to_html(chart))]
            ),
            [chart],
        )

    def scatter(self) -> Section:
        m = self.reg.main
        alt_fit = self.reg.without_city
        if alt_fit is not None and rests_on_city(self.reg) and alt_fit.pvalue < 0.05:
            way = "lower" if alt_fit.slope < 0 else "higher"
            title = (
                f"{self.period}: without the City of London, each extra point of churn went with registration "
                f"{abs(alt_fit.slope):.1f} points {way} (95% CI {alt_fit.lower:+.2f} to {alt_fit.upper:+.2f}; "
                f"R-squared {alt_fit.r2:.2f}); with the City the slope is not significant ({m.slope:+.2f}, "
                f"{m.lower:+.2f} to {m.upper:+.2f})"
            )
        elif m.pvalue < 0.05 and m.slope < 0:
            title = (
                f"{self.period}: each extra point of churn went with registration {abs(m.slope):.1f} points lower "
                f"(95% CI {abs(m.upper):.1f} to {abs(m.lower):.1f}); R-squared {m.r2:.2f}"
            )
        elif m.pvalue < 0.05:
            title = (
                f"{self.period}: each extra point of churn went with registration {m.slope:.1f} points higher "
                f"(95% CI {m.lower:.1f} to {m.upper:.1f}); R-squared {m.r2:.2f}"
            )
        else:
            title = (
                f"{self.period}: registration was not significantly related to churn across all 33 areas (slope "
                f"{m.slope:+.2f}, 95% CI {m.lower:+.2f} to {m.upper:+.2f})"
            )
        if (
            alt_fit is not None
            and self.reg.city_drives()
            and not (rests_on_city(self.reg) and alt_fit.pvalue < 0.05)
        ):
            title += f"; without the City of London the slope is {alt_fit.slope:+.2f} ({alt_fit.lower:+.2f} to {alt_fit.upper:+.2f})"
        io = aggregate_figures(self.data.estimates, self.period)
        chart = scatter(
            self.reg,
            period=self.period,
            title=title,
            aggregates=io,
            y_label=Y_LABEL_PROXY if self.proxy else Y_LABEL,
        )
        # one definition of Inner and Outer London's figures on every page: the aggregate
        text = (
            f"Inner London as a whole had {io.loc['Inner', 'churn']:.1f} moves per 100 residents and "
            f"{io.loc['Inner', 'registration']:.1f}% registration; Outer London {io.loc['Outer', 'churn']:.1f} and "
            f"{io.loc['Outer', 'registration']:.1f}% (all moves over all residents and all electors over all "
            f"adults of the area, as on the measure pages, not an average of its boroughs)."
            if io.notna().all().all()
            else ""
        )
        return Section(
            h.join([h.h2("The 33 local authorities"), h.p(text), Markup(charts.to_html(chart))]),
            [chart],
        )

    def regression(self) -> Section:
        m = self.reg.main
        body = h.join(
            [
                h.h2("The fitted relationship"),
                h.p(
                    "Registration is regressed on churn by ordinary least squares, once with classical standard errors "
                    "and once with HC3 heteroskedasticity-robust errors (the main estimate: borough sizes differ widely, "
                    "so equal error variance is doubtful). A Huber M-estimator checks that a few boroughs far from the "
                    "line do not set the slope. Further fits drop the City of London, add an Inner London term, and "
                    "do both, since the City is an Inner London outlier."
                ),
                Markup(
                    tables.to_html(
                        fits_table(self.reg),
                        caption=f"Electoral registration on population churn, {self.period}: "
                        f"slope {signed(m.slope)} points per point of churn (HC3)",
                    )
                ),
            ]
        )
        return Section(body)

    def influence(self) -> Section:
        city = self.reg.city()
        if city is not None:
            alt = self.reg.fit("OLS without")
            title = (
                f"The City of London has leverage {city.leverage:.2f} and Cook's distance {city.cooks_d:.2f}; "
                f"without it the slope is {alt.slope:+.2f} rather than {self.reg.main.slope:+.2f}"
                + (
                    ", enough to change the conclusion"
                    if self.reg.city_drives()
                    else ", which leaves the conclusion unchanged"
                )
            )
        else:
            title = "Leverage and influence of each borough"
        chart = influence_chart(self.reg, title=title)
        residents = series.population(self.data.estimates, CITY, self.period) or series.population(
            self.data.estimates, CITY
        )
        size = (
            f"With {residents[1]:,.0f} residents in {residents[0]}"
            if residents
            else "With very few residents"
        )
        text = (
            f"{size}, the City of London has very high churn and a population unlike any borough's; "
            "a point far along the churn axis has high leverage and can tilt a line fitted to 33 points. Leverage "
            "says how far a borough's churn sits from the rest; Cook's distance says how much the fitted line would "
            "move without it."
        )
        e = self.data.estimates
        city_rows = e[
            (e.indicator == Y)
            & (e.period == self.period)
            & (e.area_code == CITY)
            & (e.breakdown == "all")
        ]
        if len(city_rows) and city_rows["note"].iloc[0]:
            text += (
                f" The City's registration figure is itself doubtful: {city_rows['note'].iloc[0]}."
            )
        return Section(
            h.join(
                [
                    h.h2("Does the City of London drive the result?"),
                    h.p(text),
                    Markup(charts.to_html(chart)),
                ]
            ),
            [chart],
        )

    def residual_map(self) -> Section:
        d = self.reg.frame
        low, high = d.nsmallest(1, "residual").iloc[0], d.nlargest(1, "residual").iloc[0]
        title = (
            f"Given its churn, {low.area_name} had the lowest registration ({low.residual:+.1f} points against the line) "
            f"and {high.area_name} the highest ({high.residual:+.1f})"
        )
        chart = residual_map(
            self.reg, boundaries(self.boundaries_path), period=self.period, title=title
        )
        return Section(
            h.join(
                [
                    h.h2("Registration beyond what churn predicts"),
                    h.p(residual_reading(self.reg, self.data.estimates, self.proxy)),
                    Markup(charts.to_html(chart)),
                ]
            ),
            [chart],
        )

    def interpretation(self) -> Section:
        return Section(
            h.join(
                [
                    h.h2("What the numbers say"),
                    h.ul(interpretation(self.reg, self.period), class_="headline"),
                ]
            )
        )

    def about(self) -> Section:
        reg_m, churn_m = measures.get(Y), measures.get(X)
        sources = {
            ind: provenance.source_text(v, self.proxies[ind]) for ind, v in self.sources.items()
        }
        body = h.join(
            [
                h.h2("About this analysis"),
                h.element(
                    "dl",
                    h.element("dt", "Electoral registration"),
                    h.element("dd", f"{reg_m.definition} Source: {sources[Y]}."),
                    h.element("dt", "Population churn"),
                    h.element("dd", f"{churn_m.definition} Source: {sources[X]}."),
                    h.element("dt", "Caveats"),
                    h.element("dd", f"{reg_m.caveats or ''} {churn_m.caveats or ''}"),
                ),
                h.p(
                    "With real data (a build with --source real), churn comes from the ONS mid-year estimates' components "
                    "of change (MYEB3) and registration from the documented electorate proxy over residents aged 18 and "
                    "over; this page reads whichever the build produced. That proxy leaves out resident EU citizens, "
                    "who are more numerous in high-churn inner boroughs, so with real data part of any relationship "
                    "can come from the proxy itself."
                ),
                h.p(
                    "Methods: statsmodels OLS (classical and HC3 errors), RLM with Huber's T norm, influence from the "
                    "OLS fit (hat values, Cook's distance, externally studentised residuals). Periods are single years; "
                    "the latest year with borough figures for both indicators is used."
                ),
            ]
        )
        return Section(body)
