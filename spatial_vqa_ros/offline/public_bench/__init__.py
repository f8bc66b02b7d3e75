"""Public spatial benchmarks (issue 25): SpatialRGPT-Bench and Q-Spatial Bench, answered
by the perception chain and the geometry core, or a model's answers scored, with each
benchmark's own success rule beside this package's answer verifier.

Modules: ``questions`` (one question type for both), ``spatialrgpt`` and ``qspatial``
(the released files' readers), ``rules`` (the official success rules and Q-Spatial's
answer reader), ``scoring`` (an answer judged both ways), ``answering`` (an image
through the chain, a question through the core), ``run`` (the loop; a model's answers
file), ``report`` (the table beside the published rows, the per-question records).
Nothing here downloads: the user lays the released files out (README).
"""
