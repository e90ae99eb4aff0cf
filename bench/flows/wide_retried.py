"""A run for the report benchmark: a foreach of --width items, every 50th failing once and retried."""

from flowship import FlowSpec, Parameter, current, retry, step


class WideRetriedFlow(FlowSpec):
    width = Parameter("width", default=1000, type=int)

    @step
    def start(self):
        self.items = list(range(self.width))
        self.next(self.work, foreach="items")

    @retry(times=1, minutes_between_retries=0)
    @step
    def work(self):
        if self.input % 50 == 0 and current.retry_count == 0:
            raise RuntimeError(f"item {self.input} fails once")
        self.square = self.input * self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.square for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass
