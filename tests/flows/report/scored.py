"""A flow whose gates read `score`: its run reports show the trend of `score` without being asked."""

from flowship import FlowSpec, Parameter, project, step


@project(name="scoring", gates=["score >= production.score - 0.1"])
class ScoredFlow(FlowSpec):
    score = Parameter("score", default=0.5, type=float)

    @step
    def start(self):
        self.label = f"scored {self.score}"
        self.next(self.end)

    @step
    def end(self):
        pass
