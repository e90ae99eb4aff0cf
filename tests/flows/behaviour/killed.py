"""Behaviour fixture: saving start's artifact blocks (until killed) while the file named by --hold exists."""
import os
import time

from flowship import FlowSpec, Parameter, step


class Blocker:
    """Pickling this announces itself in --hold's folder, then waits while --hold exists."""

    def __init__(self, hold: str):
        self.hold = hold

    def __reduce__(self):
        if os.path.exists(self.hold):
            with open(self.hold + ".saving.tmp", "w") as handle:
                handle.write(str(os.getpid()))
            os.replace(self.hold + ".saving.tmp", self.hold + ".saving")  # the test never reads it half-written
            while os.path.exists(self.hold):
                time.sleep(0.05)
        return (str, ("saved",))


class KilledFlow(FlowSpec):
    hold = Parameter("hold")

    @step
    def start(self):
        self.big = b"x" * (8 * 2**20)
        self.blocker = Blocker(self.hold)
        self.next(self.end)

    @step
    def end(self):
        self.result = (len(self.big), self.blocker)
