"""Nested switches whose branches all merge at 'end', some going there straight from a switch (Metaflow's
switch_nested and switch_basic, with a case that skips ahead)."""

from flowship import FlowSpec, Parameter, step


class SwitchNestedFlow(FlowSpec):
    route = Parameter("route", default="inner")
    pick = Parameter("pick", default="c")

    @step
    def start(self):
        self.way = self.route
        self.path = ["start"]
        self.next({"inner": self.inner, "b": self.b, "end": self.end}, condition="way")

    @step
    def inner(self):
        self.choice = self.pick
        self.path = self.path + ["inner"]
        self.next({"c": self.c, "end": self.end}, condition="choice")

    @step
    def b(self):
        self.path = self.path + ["b"]
        self.next(self.end)

    @step
    def c(self):
        self.path = self.path + ["c"]
        self.next(self.end)

    @step
    def end(self):
        self.walked = "/".join(self.path)


if __name__ == "__main__":
    SwitchNestedFlow()
