"""Fixture: a foreach over four items, using self.input and self.index."""
from flowship import FlowSpec, step

EXPECTED = {"pairs": [[0, "p"], [1, "q"], [2, "r"], [3, "s"]]}


class ForeachFixtureFlow(FlowSpec):
    @step
    def start(self):
        self.letters = ["p", "q", "r", "s"]
        self.next(self.body, foreach="letters")

    @step
    def body(self):
        self.pair = [self.index, self.input]
        self.next(self.join)

    @step
    def join(self, inputs):
        self.pairs = sorted(i.pair for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ForeachFixtureFlow()
