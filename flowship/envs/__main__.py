"""``python -m flowship.envs ARGS``: ``flow step ARGS`` in a step's environment, importing only what a task needs.

A task entering its environment replaces itself with this (``install.py``): a
fresh interpreter, so it skips the command-line front end (every command's
parser, the deployment code) that ``python -m flowship step`` would import.
"""

import sys

from flowship.runtime.task import run_step_argv

sys.exit(run_step_argv(sys.argv[1:]))
