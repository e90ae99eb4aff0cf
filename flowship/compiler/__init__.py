"""Turns a flow file's source into checked IR and target text; pure, no I/O.

The front end (:func:`check_flow_source`) parses, checks and builds the IR;
``targets/`` turn IR into Argo or Airflow text.
"""

from flowship.compiler.frontend import CheckResult, check_flow_source
from flowship.compiler.ir import FlowIR, ParameterIR, StepIR

__all__ = ["CheckResult", "check_flow_source", "FlowIR", "ParameterIR", "StepIR"]
