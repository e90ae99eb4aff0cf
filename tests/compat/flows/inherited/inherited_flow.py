"""Compatibility fixture: a flow whose parameters, constants and first step come from another module."""
from common import BaseTraining, SeedMixin

from flowship import step


class InheritedFlow(SeedMixin, BaseTraining):
    RATE = 0.1

    @step
    def train(self):
        self.result = (self.scaled, self.last_seed, self.RATE, self.VERSION)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    InheritedFlow()
