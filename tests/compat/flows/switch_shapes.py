"""A switch at the top whose 'fanout' branch nests a split, a switch in a branch and a foreach in a branch; its
'skip' branch goes straight to the merge step."""

from flowship import FlowSpec, Parameter, step


class SwitchShapesFlow(FlowSpec):
    mode = Parameter("mode", default="fanout")
    kind = Parameter("kind", default="x")

    @step
    def start(self):
        self.route = self.mode
        self.next({"fanout": self.fanout, "skip": self.skip}, condition="route")

    @step
    def fanout(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.pick = self.kind
        self.next({"x": self.ax, "y": self.ay}, condition="pick")

    @step
    def ax(self):
        self.val = "ax"
        self.next(self.join_ab)

    @step
    def ay(self):
        self.val = "ay"
        self.next(self.join_ab)

    @step
    def b(self):
        self.items = [1, 2, 3]
        self.next(self.each, foreach="items")

    @step
    def each(self):
        self.r = f"{self.input}:{'even' if self.input % 2 == 0 else 'odd'}"
        self.next(self.join_each)

    @step
    def join_each(self, inputs):
        self.rs = [i.r for i in inputs]
        self.next(self.join_ab)

    @step
    def join_ab(self, inputs):
        self.summary = "|".join([inputs[0].val] + inputs[1].rs)
        self.next(self.merge)

    @step
    def skip(self):
        self.summary = "skipped"
        self.next(self.merge)

    @step
    def merge(self):
        self.result = self.summary
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SwitchShapesFlow()
