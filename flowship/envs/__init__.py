"""Each step's own Python environment (@pypi, @conda): resolved with uv into locks, made once, entered by tasks.

``lock.py`` resolves and caches locks, ``record.py`` keeps environments and
their wheels in the store, ``install.py`` makes an environment and runs a task
in it, ``prepare.py`` does all of it for a flow (``flow run``, ``flow deploy``)
and for one task (``flow step --environment``); ``uv.py`` runs uv and words
its failures.
"""

__all__ = ["ACTIVE_VARIABLE"]

# Set in a task running inside its environment, to the environment's id: it is entered once, and recorded.
# Here, so that a task inside an environment reads it without importing the code that makes environments.
ACTIVE_VARIABLE = "FLOWSHIP_ACTIVE_ENVIRONMENT"
