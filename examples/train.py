"""Event-driven pipeline, part 2: train whenever IngestFlow (ingest.py) finishes in the same branch."""

from flowship import FlowSpec, current, project, step, trigger_on_finish


@project(name="demand")
@trigger_on_finish(flow="IngestFlow")
class TrainFlow(FlowSpec):
    """Fits a per-store mean from the rows of the run that triggered it."""

    @step
    def start(self):
        upstream = current.trigger.run if current.trigger else None  # None: started by hand
        self.source = upstream.pathspec if upstream else None
        rows = upstream.data.rows if upstream else []
        self.model = {row["store"]: row["units"] for row in rows}
        self.next(self.end)

    @step
    def end(self):
        print(f"trained on {self.source}: {self.model}")


if __name__ == "__main__":
    TrainFlow()
