"""Behaviour fixture: an IncludeFile read at launch and stored with the run."""
from flowship import FlowSpec, IncludeFile, step


class IncludeFlow(FlowSpec):
    notes = IncludeFile("notes", required=True, help="a text file stored with the run")

    @step
    def start(self):
        self.lines = self.notes.splitlines()
        self.next(self.end)

    @step
    def end(self):
        pass
