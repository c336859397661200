"""Running cases: the machinery between a scenario and a saved measurement.

Owns the pytest plugin and the benchmark function it parametrizes (:mod:`.plugin`,
:mod:`.benchcases`, :mod:`.runstate`), the parent side of a case (:mod:`.launcher`,
:mod:`.procgroup`, :mod:`.protocol`) and the worker program that measures it
(:mod:`.worker`, :mod:`.resources`, :mod:`.stats`, :mod:`.environment`), the interpreters
that run workers (:mod:`.interpreters`), the backend server that HTTP workloads call
(:mod:`.server`, started by :mod:`.backend`) and the figures derived from a case's
rounds (:mod:`.metrics`). It may import every other room: it writes runs and prints
summaries with :mod:`suite.results`. The parent process never runs measured work: only
:mod:`.worker` calls a model.
"""
