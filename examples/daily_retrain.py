"""Daily retraining: tune a classifier on scikit-learn's bundled wine data; keep a model only if it beats the last one.

start loads and splits the data, train fits one model per regularization strength
(a foreach), pick_best keeps the most accurate, and compare looks up the latest
successful run in the same namespace through the Client: a production deployment
compares with production, a data scientist's local runs with their own.
Needs scikit-learn (pip install scikit-learn).
"""

from flowship import Flow, FlowSpec, JSONType, Parameter, current, namespace, project, resources, retry, schedule, step


@project(name="wine")
@schedule(daily=True)
class DailyRetrainFlow(FlowSpec):
    strengths = Parameter("strengths", type=JSONType, default="[0.01, 0.1, 1.0, 10.0]",
                          help="inverse regularization strengths (C) to try")
    seed = Parameter("seed", default=0, help="seed of the train/test split")

    @step
    def start(self):
        from sklearn.datasets import load_wine
        from sklearn.model_selection import train_test_split

        data = load_wine()
        self.x_train, self.x_test, self.y_train, self.y_test = train_test_split(
            data.data, data.target, test_size=0.3, random_state=self.seed, stratify=data.target)
        self.next(self.train, foreach="strengths")

    @retry(times=2)
    @resources(cpu=1, memory=1024)
    @step
    def train(self):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.strength = self.input
        self.model = make_pipeline(StandardScaler(), LogisticRegression(C=self.strength, max_iter=5000))
        self.model.fit(self.x_train, self.y_train)
        self.accuracy = float(self.model.score(self.x_test, self.y_test))
        self.next(self.pick_best)

    @step
    def pick_best(self, inputs):
        best = max(inputs, key=lambda i: (i.accuracy, -i.strength))
        self.model, self.accuracy, self.strength = best.model, best.accuracy, best.strength
        self.scores = {str(i.strength): i.accuracy for i in inputs}
        self.next(self.compare)

    @step
    def compare(self):
        namespace(current.namespace)
        previous = Flow(current.flow_name).latest_successful_run
        self.previous_run = previous.id if previous else None
        self.previous_accuracy = previous.data.accuracy if previous else None
        self.improved = previous is None or self.accuracy > self.previous_accuracy
        self.next(self.end)

    @step
    def end(self):
        before = "no earlier run" if self.previous_run is None else f"{self.previous_accuracy:.3f} in {self.previous_run}"
        verdict = "keep the new model" if self.improved else "keep the previous model"
        print(f"accuracy {self.accuracy:.3f} (C={self.strength}) vs {before}: {verdict}")


if __name__ == "__main__":
    DailyRetrainFlow()
