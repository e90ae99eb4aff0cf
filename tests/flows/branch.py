"""Fixture: a three-way static split merged with merge_artifacts."""
from flowship import FlowSpec, step

EXPECTED = {"shared": "s", "total": 6, "from_a": 1}


class BranchFixtureFlow(FlowSpec):
    @step
    def start(self):
        self.shared = "s"
        self.next(self.a, self.b, self.c)

    @step
    def a(self):
        self.v = 1
        self.from_a = 1
        self.next(self.join)

    @step
    def b(self):
        self.v = 2
        self.next(self.join)

    @step
    def c(self):
        self.v = 3
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.v for i in inputs)
        self.merge_artifacts(inputs, exclude=["v"])
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    BranchFixtureFlow()
