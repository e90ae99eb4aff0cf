"""Executing flows: one task (``flow step``), whole runs (``flow run``/``resume``), and reading results (Client)."""
