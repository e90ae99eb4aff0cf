"""Behaviour fixture: @retry, @catch, @timeout and @environment honoured locally."""
import os
import time

from flowship import FlowSpec, catch, current, environment, retry, step, timeout


class DecoratedFlow(FlowSpec):
    @retry(times=2, minutes_between_retries=0)
    @step
    def start(self):
        if current.retry_count < 1:
            raise RuntimeError("first attempt fails on purpose")
        self.start_attempt = current.retry_count
        self.next(self.guarded)

    @catch(var="failure", print_exception=False)
    @step
    def guarded(self):
        self.before = "set before the failure"
        raise ValueError("caught on purpose")
        self.next(self.slow)

    @catch(var="timed_out")
    @timeout(seconds=1)
    @step
    def slow(self):
        time.sleep(30)
        self.next(self.env)

    @environment(vars={"FLOWSHIP_TEST_VAR": "from the decorator"})
    @step
    def env(self):
        self.env_value = os.environ["FLOWSHIP_TEST_VAR"]
        self.next(self.end)

    @step
    def end(self):
        self.summary = {
            "start_attempt": self.start_attempt,
            "failure": (self.failure.type, self.failure.exception),  # Metaflow's exception wrapper
            "timed_out": self.timed_out.type.rsplit(".", 1)[1],
            "env": self.env_value,
        }
