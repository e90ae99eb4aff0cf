"""A switch inside a foreach: each item picks its own branch; the join gets whichever ran (Metaflow's
switch_in_foreach)."""

from flowship import FlowSpec, step


class SwitchInForeachFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2, 3]
        self.next(self.each, foreach="items")

    @step
    def each(self):
        self.parity = "even" if self.input % 2 == 0 else "odd"
        self.next({"even": self.even, "odd": self.odd}, condition="parity")

    @step
    def even(self):
        self.r = f"{self.input}:even"
        self.next(self.join)

    @step
    def odd(self):
        self.r = f"{self.input}:odd"
        self.next(self.join)

    @step
    def join(self, inputs):
        self.rs = [i.r for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SwitchInForeachFlow()
