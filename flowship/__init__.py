"""flowship: write a flow once in Python, run it locally, ship it to Argo or Airflow.

The public authoring API, re-exported here so flows need one import line::

    from flowship import FlowSpec, step, Parameter, current, retry
"""

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

__all__ = [
    "FlowSpec", "step", "Parameter", "IncludeFile", "JSONType", "current",
    "resources", "retry", "timeout", "catch", "environment", "kubernetes", "secrets",
    "schedule", "project", "FlowshipError", "FlowDefinitionError",
]
