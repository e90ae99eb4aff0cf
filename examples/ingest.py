"""Event-driven pipeline, part 1: ingest a day of sales when the data lands (or daily at 02:00 UTC).

`flow event publish sales_landed --payload '{"day": "2026-12-01"}'` starts a run with day set from the
payload; a finished run starts TrainFlow (train.py), which in turn starts ScoreFlow (score.py). See
docs/production.md, "Event-driven flows".
"""

from flowship import FlowSpec, Parameter, project, schedule, step, trigger


@project(name="demand")
@schedule(cron="0 2 * * *")
@trigger(event={"name": "sales_landed", "parameters": {"day": "day"}})
class IngestFlow(FlowSpec):
    """Reads one day of sales into an artifact."""

    day = Parameter("day", default="latest", help="the day to ingest (YYYY-MM-DD), or latest")

    @step
    def start(self):
        self.rows = [{"day": self.day, "store": s, "units": 10 + s} for s in range(3)]
        self.next(self.end)

    @step
    def end(self):
        print(f"ingested {len(self.rows)} rows for {self.day}")


if __name__ == "__main__":
    IngestFlow()
