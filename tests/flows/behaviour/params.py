"""Behaviour fixture: typed parameters, stored verbatim."""
from flowship import FlowSpec, JSONType, Parameter, current, step


class ParamsFlow(FlowSpec):
    text = Parameter("text", default="plain", help="any text at all")
    count = Parameter("count", default=1)
    ratio = Parameter("ratio", default=0.5)
    flag = Parameter("flag", default=False)
    config = Parameter("config", type=JSONType, default='{"k": [1, 2]}')
    label = Parameter("label", help="optional, no default")
    words = Parameter("words", default="a,b", separator=",", help="a list, as Metaflow splits it")

    @step
    def start(self):
        self.seen = (self.text, self.count, self.ratio, self.flag, self.config, self.label, self.words)
        self.where = (current.flow_name, current.step_name, current.task_id, current.retry_count, current.namespace)
        self.next(self.end)

    @step
    def end(self):
        pass
