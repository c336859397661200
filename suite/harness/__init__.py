"""Running cases: the machinery between a scenario and a saved measurement.

Owns the pytest plugin and the benchmark function it parametrizes (:mod:`.plugin`,
:mod:`.benchcases`, :mod:`.runstate`), the parent side of a case (:mod:`.launcher`,
:mod:`.procgroup`, :mod:`.protocol`) and the worker program that measures it
(:mod:`.worker`, :mod:`.resources`, :mod:`.stats`, :mod:`.environment`), the interpreters
that run workers (:mod:`.executables`), the backend server that HTTP workloads call
(:mod:`.httpbackend`, started by :mod:`.backend`) and the figures derived from a case's
rounds (:mod:`.metrics`); serve mode's two halves (:mod:`.serve_worker` in the worker,
:mod:`.serve_case` in the parent), the run options (:mod:`.options`), the capacity probe
(:mod:`.probe`) and paired A/B rounds (:mod:`.paired`, :mod:`.abrun`). It may import
every other room: it writes runs and prints summaries with :mod:`suite.results`. The
parent process never runs measured work: only :mod:`.worker` calls a model.
"""
