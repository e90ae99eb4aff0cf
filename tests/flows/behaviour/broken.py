"""Behaviour fixture: a step that raises, and one that stores an unpicklable value (chosen by --mode)."""
import threading

from flowship import FlowSpec, Parameter, step


class BrokenFlow(FlowSpec):
    mode = Parameter("mode", default="raise")

    @step
    def start(self):
        self.fine = 1
        if self.mode == "raise":
            raise KeyError("the step's own bug")
        self.lock = threading.Lock()
        self.next(self.end)

    @step
    def end(self):
        pass
