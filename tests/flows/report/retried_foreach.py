"""A run worth a report: a foreach of three, one item slow (the critical path), one failing once then retried
(for good while $FAIL_FOR_GOOD is set, so that a resume without it succeeds)."""

import os
import time

from flowship import FlowSpec, Parameter, current, retry, step


class RetriedForeachFlow(FlowSpec):
    note = Parameter("note", default="<b>not bold</b>", help="text the report must show as text")

    @step
    def start(self):
        self.items = [0, 1, 2]
        self.next(self.work, foreach="items")

    @retry(times=1, minutes_between_retries=0)
    @step
    def work(self):
        print(f"working on item {self.input}")
        if self.input == 1 and (current.retry_count == 0 or os.environ.get("FAIL_FOR_GOOD")):
            raise ValueError(f"item {self.input} broke on attempt {current.retry_count}")
        if self.input == 2:
            time.sleep(1.0)
        self.value = self.input * 10
        self.next(self.gather)

    @step
    def gather(self, inputs):
        self.total = sum(i.value for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RetriedForeachFlow()
