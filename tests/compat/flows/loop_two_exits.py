"""A loop that may leave to either of two steps, which merge again at 'end'."""

from flowship import FlowSpec, Parameter, step


class LoopExitsFlow(FlowSpec):
    leave_to = Parameter("leave_to", default="done")

    @step
    def start(self):
        self.count = 0
        self.next(self.train)

    @step
    def train(self):
        self.count += 1
        self.status = "again" if self.count < 3 else self.leave_to
        self.next({"again": self.train, "done": self.finish, "other": self.other}, condition="status")

    @step
    def finish(self):
        self.how = "finish"
        self.next(self.end)

    @step
    def other(self):
        self.how = "other"
        self.next(self.end)

    @step
    def end(self):
        self.result = f"{self.how} after {self.count}"


if __name__ == "__main__":
    LoopExitsFlow()
