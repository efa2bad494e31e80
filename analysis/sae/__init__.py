"""Small area estimation: modelled borough figures for survey measures (Fay-Herriot).

``model`` (the fit, EBLUP and MSE), ``twolevel`` (waves fitted together, two variance
components), ``variance`` (GVF smoothing of the sampling variances, a proportion's or a
gap's), ``covariates`` (the one covariate rule, demo and real), ``benchmarking`` (agreement
with London), ``data`` (the direct inputs, proportions and gaps), ``boroughs`` (a build's
models), ``changes`` (modelled changes between waves and their MSE), ``publish`` (rows and
files). ``benchmarks/bench_sae.py`` checks the estimates by design-based simulation.
"""
