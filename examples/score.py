"""Event-driven pipeline, part 3: score with each new model once TrainFlow (train.py) finishes."""

from flowship import FlowSpec, current, project, step, trigger_on_finish


@project(name="demand")
@trigger_on_finish(flow="TrainFlow")
class ScoreFlow(FlowSpec):
    """Forecasts tomorrow's units per store with the model of the run that triggered it."""

    @step
    def start(self):
        upstream = current.trigger.run if current.trigger else None
        self.model_from = upstream.pathspec if upstream else None
        self.forecast = {store: units * 1.1 for store, units in (upstream.data.model if upstream else {}).items()}
        self.next(self.end)

    @step
    def end(self):
        print(f"scored with {self.model_from}: {self.forecast}")


if __name__ == "__main__":
    ScoreFlow()
