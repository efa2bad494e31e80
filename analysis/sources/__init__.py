"""Where a build's inputs come from, each turned into the canonical :class:`~.inputs.Inputs`.

* :mod:`.interface`: the one interface every source follows (a key for the build cache, the
  files read, the inputs) and :class:`~.interface.BuildInputs`, which composes a base source
  with the sources that extend it;
* :mod:`.demo` (with ``analysis/data/demo_profile.yaml``): the synthetic demonstration data;
* :mod:`.published` (with ``analysis/data/sources.yaml``): loaders for the published files,
  and :mod:`.real`, which joins them into the real build's inputs;
* :mod:`.waves`: survey waves from providers' files, read through YAML codebooks;
* :mod:`.evaluation_demo`: the synthetic pre/post surveys of the programme evaluation.

Nothing is imported here, so importing one source does not load the others.
"""
