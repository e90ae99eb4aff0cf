"""Behaviour fixture: step names that collide once made into Kubernetes names (train_model, trainModel)."""
from flowship import FlowSpec, retry, step


class CollidingFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.train_model, self.trainModel)

    @retry
    @step
    def train_model(self):
        self.next(self.join)

    @retry
    @step
    def trainModel(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass
