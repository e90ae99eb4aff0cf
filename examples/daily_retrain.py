"""Daily retraining: tune a classifier on scikit-learn's bundled wine data; promote a model only when it wins.

start loads and splits the data, train fits one model per regularization strength
(a foreach), pick_best keeps the most accurate. The gates of @project decide at
the end of each production run: the run becomes the production model only if its
accuracy is at least the current production model's (and above a floor);
otherwise it is held back, and `flow promotions DailyRetrainFlow` says why.
Needs scikit-learn (pip install scikit-learn).
"""

from flowship import FlowSpec, JSONType, Parameter, project, resources, retry, schedule, step


@project(name="wine", gates=["accuracy >= production.accuracy", "accuracy > 0.8"])
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
        self.next(self.end)

    @step
    def end(self):
        print(f"accuracy {self.accuracy:.3f} (C={self.strength}); scores by C: {self.scores}")


if __name__ == "__main__":
    DailyRetrainFlow()
