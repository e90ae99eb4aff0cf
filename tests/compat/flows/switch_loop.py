"""A switch that picks its own step again until a count is reached (Metaflow's recursive switch)."""

from flowship import FlowSpec, Parameter, current, step


class SwitchLoopFlow(FlowSpec):
    times = Parameter("times", default=3)
    fail_at = Parameter("fail_at", default=0)

    @step
    def start(self):
        self.count = 0
        self.next(self.train)

    @step
    def train(self):
        self.count += 1
        if self.count == self.fail_at and current.origin_run_id is None:
            raise RuntimeError(f"failing at {self.count} until resumed")
        self.status = "again" if self.count < self.times else "done"
        self.next({"again": self.train, "done": self.end}, condition="status")

    @step
    def end(self):
        self.total = self.count


if __name__ == "__main__":
    SwitchLoopFlow()
