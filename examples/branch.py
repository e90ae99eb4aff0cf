"""A static split: two models trained side by side, the better one kept in the join."""

from flowship import FlowSpec, Parameter, resources, retry, step


class BranchFlow(FlowSpec):
    seed = Parameter("seed", default=7, help="random seed for the toy data")

    @step
    def start(self):
        import random

        rng = random.Random(self.seed)
        self.points = [(x, 2.0 * x + rng.uniform(-0.5, 0.5)) for x in range(20)]
        self.next(self.fit_mean, self.fit_line)

    @resources(cpu=1, memory=512)
    @step
    def fit_mean(self):
        mean = sum(y for _, y in self.points) / len(self.points)
        self.model = ("mean", mean)
        self.error = sum((y - mean) ** 2 for _, y in self.points)
        self.next(self.pick)

    @retry(times=2)
    @step
    def fit_line(self):
        n = len(self.points)
        mx = sum(x for x, _ in self.points) / n
        my = sum(y for _, y in self.points) / n
        slope = sum((x - mx) * (y - my) for x, y in self.points) / sum((x - mx) ** 2 for x, _ in self.points)
        self.model = ("line", slope, my - slope * mx)
        self.error = sum((y - (slope * x + my - slope * mx)) ** 2 for x, y in self.points)
        self.next(self.pick)

    @step
    def pick(self, inputs):
        best = min(inputs, key=lambda i: i.error)
        self.model, self.error = best.model, best.error
        self.merge_artifacts(inputs, exclude=["model", "error"])
        self.next(self.end)

    @step
    def end(self):
        print("best model:", self.model[0], "error:", round(self.error, 3), "on", len(self.points), "points")


if __name__ == "__main__":
    BranchFlow()
