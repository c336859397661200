"""Checks of the suite itself: what the harness costs, and whether it tells change from noise.

``python -m suite.selfcheck.overhead`` (``tox -e bench-overhead``) times each model
through the suite and through :mod:`.handwritten`, a self-contained script that imports
nothing of the suite. ``python -m suite.selfcheck.truth`` (``tox -e bench-truth``) scores
``suite compare`` of two separate runs, ``suite ab`` of the same code (A/A) and of 15% more
work in one scenario at a time, and the instruction counts, each against its target.
``python -m suite.selfcheck.loadcheck`` (``tox -e bench-serve``) checks serve mode's load
generator: its schedule lag, coordinated omission, and wrk's figure. It may
import :mod:`suite.spec`, :mod:`suite.harness`, :mod:`suite.results` and the serve and
workload contracts its check servers are made of.
"""
