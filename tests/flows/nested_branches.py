"""Fixture: a split inside one branch of another split."""
from flowship import FlowSpec, step

EXPECTED = {"result": [10, 21, 22]}


class NestedBranchesFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.next(self.a1, self.a2)

    @step
    def a1(self):
        self.v = 21
        self.next(self.a_join)

    @step
    def a2(self):
        self.v = 22
        self.next(self.a_join)

    @step
    def a_join(self, inputs):
        self.vs = [i.v for i in inputs]
        self.next(self.join)

    @step
    def b(self):
        self.vs = [10]
        self.next(self.join)

    @step
    def join(self, inputs):
        self.result = sorted(v for i in inputs for v in i.vs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    NestedBranchesFlow()
