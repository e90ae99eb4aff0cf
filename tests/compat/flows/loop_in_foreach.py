"""A loop inside a foreach: each item repeats its step as often as it needs (Metaflow's
recursive_switch_inside_foreach)."""

from flowship import FlowSpec, step


class LoopInForeachFlow(FlowSpec):
    @step
    def start(self):
        self.items = [2, 3]
        self.next(self.begin, foreach="items")

    @step
    def begin(self):
        self.count = 0
        self.next(self.body)

    @step
    def body(self):
        self.count += 1
        self.more = "yes" if self.count < self.input else "no"
        self.next({"yes": self.body, "no": self.leave}, condition="more")

    @step
    def leave(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.counts = [i.count for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LoopInForeachFlow()
