"""A training step's cards with every common component: the docs' pictures, and a browser test's run."""

from flowship import FlowSpec, Parameter, card, current, step
from flowship.cards import Image, Markdown, ProgressBar, Table, ValueBox, VegaChart


class ShowcaseFlow(FlowSpec):
    learning_rate = Parameter("learning_rate", default=0.3, help="how fast the loss falls")
    epochs = Parameter("epochs", default=8)

    @card
    @card(type="blank", id="report", options={"title": "Training report"})
    @step
    def start(self):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import pandas as pd

        loss = [round(2.0 * (1 - self.learning_rate) ** e + 0.05, 4) for e in range(self.epochs)]
        self.history = pd.DataFrame({"epoch": range(1, self.epochs + 1), "loss": loss})
        self.accuracy = 0.912
        self.confusion = [[48, 2, 0], [3, 41, 6], [0, 4, 46]]
        print(f"trained {self.epochs} epochs; final loss {loss[-1]}")

        report = current.card["report"]
        report.append(Markdown("# Synthetic classifier\nTrained with learning rate **%s**." % self.learning_rate))
        report.append(ValueBox(title="Accuracy", value=self.accuracy, theme="success", change_indicator="+3.1%"))
        report.append(ProgressBar(max=self.epochs, value=self.epochs, label="Epochs", unit="done"))
        report.append(VegaChart({
            "data": {"values": self.history.to_dict(orient="records")},
            "mark": {"type": "line", "point": True},
            "encoding": {"x": {"field": "epoch", "type": "ordinal"}, "y": {"field": "loss", "type": "quantitative"}},
            "width": 420, "height": 180,
        }))
        report.append(Table.from_dataframe(self.history))
        figure, axes = plt.subplots(figsize=(3.2, 2.6))
        axes.imshow(self.confusion, cmap="Blues")
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        report.append(Image.from_matplotlib(figure, label="Confusion matrix"))
        plt.close(figure)
        current.card.append(Markdown("The default card lists what the step stored, below this note."))
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ShowcaseFlow()
