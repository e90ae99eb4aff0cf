"""A project module with a mixin and a base flow, imported by inherited_flow.py."""
from flowship import FlowSpec, Parameter, step


class SeedMixin:
    seed = Parameter("seed", default=42, help="declared on a mixin")
    VERSION = "v2"

    def seeded(self, value):
        self.last_seed = self.seed
        return value * self.seed


class BaseTraining(FlowSpec):
    alpha = Parameter("alpha", default=0.5)

    @step
    def start(self):
        self.scaled = self.seeded(self.alpha)
        self.next(self.train)
