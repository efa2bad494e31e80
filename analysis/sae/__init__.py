"""Small area estimation: modelled borough figures for survey measures (Fay-Herriot).

``model`` (the fit, EBLUP and MSE), ``variance`` (GVF smoothing of the sampling variances),
``covariates`` (the one covariate rule, demo and real), ``benchmarking`` (agreement with
London), ``boroughs`` (a build's models, rows and files). ``benchmarks/bench_sae.py`` checks
the estimates by design-based simulation.
"""
