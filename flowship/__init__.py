"""flowship: write a flow once in Python, run it locally, ship it to Argo or Airflow.

The public authoring API, re-exported here so flows need one import line::

    from flowship import FlowSpec, step, Parameter, current, retry
"""

# Configs (Metaflow's Config and config_expr): values fixed at run start or deploy.
from flowship.configs import Config, config_expr
from flowship.current import current
from flowship.decorators import (
    card,
    catch,
    conda,
    conda_base,
    environment,
    kubernetes,
    parallel,
    project,
    pypi,
    pypi_base,
    resources,
    retry,
    schedule,
    secrets,
    step,
    timeout,
    trigger,
    trigger_on_finish,
)
from flowship.errors import FlowDefinitionError, FlowshipError
from flowship.flowspec import FlowSpec
from flowship.parameters import IncludeFile, JSONType, Parameter

__version__ = "0.1.0"

# Metaflow's other public names (see docs/authoring.md, "Metaflow names"), each loaded on first use:
# flow files import flowship in every task. name -> the module that defines it.
_METAFLOW_NAMES = {
    "Metaflow": "flowship.runtime.client",
    "Flow": "flowship.runtime.client",
    "Run": "flowship.runtime.client",
    "Step": "flowship.runtime.client",
    "Task": "flowship.runtime.client",
    "DataArtifact": "flowship.runtime.client",
    "namespace": "flowship.runtime.client",
    "get_namespace": "flowship.runtime.client",
    "default_namespace": "flowship.runtime.client",
    "metadata": "flowship.runtime.metadata",
    "get_metadata": "flowship.runtime.metadata",
    "default_metadata": "flowship.runtime.metadata",
    "S3": "flowship.datatools",
    "parallel_map": "flowship.multicore",
    "parallel_imap_unordered": "flowship.multicore",
    "profile": "flowship.multicore",
}
_METAFLOW_MODULES = ("metaflow_version", "cards", "datatools")


def __getattr__(name: str):
    import importlib

    if name in _METAFLOW_NAMES:
        return getattr(importlib.import_module(_METAFLOW_NAMES[name]), name)
    if name in _METAFLOW_MODULES:
        return importlib.import_module(f"flowship.{name}")
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
    "parallel",
    "schedule",
    "project",
    "trigger",
    "trigger_on_finish",
    "card",
    "conda",
    "conda_base",
    "pypi",
    "pypi_base",
    "FlowshipError",
    "FlowDefinitionError",
    # Metaflow's other public names
    *_METAFLOW_NAMES,
    *_METAFLOW_MODULES,
    # configs
    "Config",
    "config_expr",
]
