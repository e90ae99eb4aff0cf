"""A foreach: one task per hyper-parameter value, results gathered in the join."""

from flowship import FlowSpec, JSONType, Parameter, step


class ForeachFlow(FlowSpec):
    alphas = Parameter("alphas", type=JSONType, default="[0.1, 0.5, 1.0]", help="values to try")

    @step
    def start(self):
        self.next(self.score, foreach="alphas")

    @step
    def score(self):
        self.alpha = self.input
        self.score_value = round(1.0 / (1.0 + (self.alpha - 0.4) ** 2), 6)
        self.next(self.gather)

    @step
    def gather(self, inputs):
        self.scores = {i.alpha: i.score_value for i in inputs}
        self.best_alpha = max(self.scores, key=self.scores.get)
        self.next(self.end)

    @step
    def end(self):
        print("best alpha:", self.best_alpha, self.scores)


if __name__ == "__main__":
    ForeachFlow()
