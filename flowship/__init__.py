"""flowship: write a flow once in Python, run it locally, ship it to Argo or Airflow.

The public authoring API, re-exported here so flows need one import line::

    from flowship import FlowSpec, step, Parameter, current, retry
"""

# Configs (Metaflow's Config and config_expr): values fixed at run start or deploy.
from flowship.configs import Config, config_expr
from flowship.current import current
from flowship.decorators import (
    catch,
    environment,
    kubernetes,
    project,
    resources,
    retry,
    schedule,
    secrets,
    step,
    timeout,
)
from flowship.errors import FlowDefinitionError, FlowshipError
from flowship.flowspec import FlowSpec
from flowship.parameters import IncludeFile, JSONType, Parameter

__version__ = "0.1.0"

_CLIENT = ("Flow", "Run", "Step", "Task", "namespace", "get_namespace")


def __getattr__(name: str):
    # The Client is loaded on first use: flow files import flowship in every task.
    if name in _CLIENT:
        from flowship.runtime import client

        return getattr(client, name)
    raise AttributeError(f"module 'flowship' has no attribute '{name}'")


__all__ = [
    "FlowSpec",
    "step",
    "Parameter",
    "IncludeFile",
    "JSONType",
    "current",
    "resources",
    "retry",
    "timeout",
    "catch",
    "environment",
    "kubernetes",
    "secrets",
    "schedule",
    "project",
    "FlowshipError",
    "FlowDefinitionError",
    "Flow",
    "Run",
    "Step",
    "Task",
    "namespace",
    "get_namespace",
    # configs
    "Config",
    "config_expr",
]
