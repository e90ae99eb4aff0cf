"""Fixture: linear chain start -> a -> b -> end."""
from flowship import FlowSpec, Parameter, step

EXPECTED = {"x": 3, "trail": "start,a,b"}


class LinearFlow(FlowSpec):
    offset = Parameter("offset", default=0)

    @step
    def start(self):
        self.x = 1 + self.offset
        self.trail = "start"
        self.next(self.a)

    @step
    def a(self):
        self.x += 1
        self.trail += ",a"
        self.next(self.b)

    @step
    def b(self):
        self.x += 1
        self.trail += ",b"
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LinearFlow()
