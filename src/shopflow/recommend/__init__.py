"""Recommenders: implicit ALS, a content model with an Annoy index, a popularity baseline,
their evaluation, and the hybrid that blends them.

Modules (each importable on its own; heavy libraries are imported inside functions):

* :mod:`~shopflow.recommend.data` -- interaction matrices and stable id maps from events frames.
* :mod:`~shopflow.recommend.als`, :mod:`~shopflow.recommend.content`,
  :mod:`~shopflow.recommend.popularity` -- the models, one small interface
  (``fit``, ``recommend`` / ``similar_items``).
* :mod:`~shopflow.recommend.evaluation` -- pure metric functions and the two protocols.
* :mod:`~shopflow.recommend.hybrid` -- the blend of sources and the best-seller fallbacks.
* :mod:`~shopflow.recommend.artifacts` -- saving and loading models with their id maps, and the
  MLflow pyfunc wrappers.
* :mod:`~shopflow.recommend.serve` -- the ``shopflow recommend`` command.

See docs/recommend.md.
"""
