"""Behaviour fixture: a middle step that takes a few seconds (for faults injected mid-run)."""
import time

from flowship import FlowSpec, step


class SlowFlow(FlowSpec):
    @step
    def start(self):
        self.value = 1
        self.next(self.wait)

    @step
    def wait(self):
        time.sleep(4)
        self.value += 1
        self.next(self.end)

    @step
    def end(self):
        pass
