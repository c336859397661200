"""The harness-overhead benchmark: the suite against plain hand-written code.

``python -m suite.overhead`` (``tox -e bench-overhead``) runs :mod:`.measure`, which times
each model through the suite and through :mod:`.handwritten`, a self-contained script that
imports nothing of the suite. It may import :mod:`suite.spec` and :mod:`suite.harness`.
"""
