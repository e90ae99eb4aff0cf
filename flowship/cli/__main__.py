"""``python -m flowship.cli FLOW_FILE COMMAND ...``: where ``MyFlow()`` in a flow run as a script hands over."""

import sys

from flowship.cli import main_for_flow_file

sys.exit(main_for_flow_file(sys.argv[1], sys.argv[2:]))
