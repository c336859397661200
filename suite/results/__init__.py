"""Reading results: saved runs, comparisons, reports and findings.

Owns the run files (:mod:`.history` reads them, :mod:`.saving` writes them without ever
losing one), the after-run summary (:mod:`.summary`), ``suite compare``
(:mod:`.compare`), ``suite report`` (:mod:`.report`), ``suite findings``
(:mod:`.findings`) and serve mode's tables (:mod:`.loadpoints`). It works on numbers
already measured: it may import :mod:`suite.errors` and :mod:`suite.spec` (model names
and order, scenario questions), and never imports :mod:`suite.harness`,
:mod:`suite.models`, :mod:`suite.servers` or :mod:`suite.workloads` itself, so nothing
here can run work.
"""
