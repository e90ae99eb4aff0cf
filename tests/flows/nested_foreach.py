"""Fixture: foreach nested three deep, joined inside out."""
from flowship import FlowSpec, step

EXPECTED = {"cells": ["x0a", "x0b", "x1a", "x1b", "y0a", "y0b", "y1a", "y1b"]}


class DeepForeachFlow(FlowSpec):
    @step
    def start(self):
        self.outer = ["x", "y"]
        self.next(self.level1, foreach="outer")

    @step
    def level1(self):
        self.prefix = self.input
        self.middle = [0, 1]
        self.next(self.level2, foreach="middle")

    @step
    def level2(self):
        self.prefix = f"{self.prefix}{self.input}"
        self.inner = ["a", "b"]
        self.next(self.level3, foreach="inner")

    @step
    def level3(self):
        self.cell = self.prefix + self.input
        self.next(self.join3)

    @step
    def join3(self, inputs):
        self.cells = [i.cell for i in inputs]
        self.next(self.join2)

    @step
    def join2(self, inputs):
        self.cells = [c for i in inputs for c in i.cells]
        self.next(self.join1)

    @step
    def join1(self, inputs):
        self.cells = sorted(c for i in inputs for c in i.cells)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DeepForeachFlow()
