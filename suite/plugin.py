"""The pytest plugin's public name (entry point ``suite.plugin``, ``-p suite.plugin``).

The plugin itself lives in :mod:`suite.harness.plugin`; every hook it defines is
re-exported here, so pytest finds them under this name too.
"""

from suite.harness import plugin as _plugin

globals().update({name: getattr(_plugin, name) for name in dir(_plugin) if name.startswith("pytest_")})
