"""Fixture: a foreach over a single item."""
from flowship import FlowSpec, step

EXPECTED = {"seen": ["only"]}


class SmallForeachFlow(FlowSpec):
    @step
    def start(self):
        self.things = ["only"]
        self.next(self.body, foreach="things")

    @step
    def body(self):
        self.thing = self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.seen = [i.thing for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SmallForeachFlow()
