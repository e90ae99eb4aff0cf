"""Behaviour fixture: step b fails until the file named by --gate exists; a counts its executions."""
import os

from flowship import FlowSpec, Parameter, step


class FailsFlow(FlowSpec):
    gate = Parameter("gate", required=True, help="b succeeds once this file exists")
    counter = Parameter("counter", required=True, help="a appends a line here every time it runs")

    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        with open(self.counter, "a") as handle:
            handle.write("ran\n")
        self.from_a = "a"
        self.next(self.join)

    @step
    def b(self):
        if not os.path.exists(self.gate):
            raise RuntimeError("the gate is closed")
        self.from_b = "b"
        self.next(self.join)

    @step
    def join(self, inputs):
        self.both = inputs.a.from_a + inputs.b.from_b
        self.next(self.end)

    @step
    def end(self):
        pass
