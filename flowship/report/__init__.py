"""Pictures of flows and runs for people: the flow graph as SVG, and the run report (``flow report``)."""
