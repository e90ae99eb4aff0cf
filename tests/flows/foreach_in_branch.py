"""Fixture: one branch of a split fans out with a foreach; both meet in one join."""
from flowship import FlowSpec, step

EXPECTED = {"summary": {"fanned": [2, 4, 6], "plain": "p"}}


class ForeachInBranchFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.fan, self.plain)

    @step
    def fan(self):
        self.nums = [1, 2, 3]
        self.next(self.double, foreach="nums")

    @step
    def double(self):
        self.y = self.input * 2
        self.next(self.fan_join)

    @step
    def fan_join(self, inputs):
        self.fanned = sorted(i.y for i in inputs)
        self.next(self.join)

    @step
    def plain(self):
        self.word = "p"
        self.next(self.join)

    @step
    def join(self, inputs):
        self.summary = {"fanned": inputs.fan_join.fanned, "plain": inputs.plain.word}
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ForeachInBranchFlow()
