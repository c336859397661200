"""Reading scenario files: from YAML to the cases a run measures.

Owns the strict YAML loader (:mod:`.yamlload`), the scenario schema and its file:line
errors (:mod:`.scenario`), the expansion into cases (:mod:`.cases`) and the registry that
finds models, server models and workload kinds by name (:mod:`.registry`). It may import
:mod:`suite.errors` and the contracts in :mod:`suite.models`, :mod:`suite.servers` and
:mod:`suite.workloads`;
it never imports :mod:`suite.harness` or :mod:`suite.results`, and it runs nothing.
"""
