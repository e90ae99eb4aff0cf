"""Cards on every scheduler: a default and a blank card on start, a card per foreach task, an html card."""

from flowship import FlowSpec, card, current, step
from flowship.cards import Markdown, Table

EXPECTED = {"squares": [1, 4, 9]}


class CardsFlow(FlowSpec):
    @card
    @card(type="blank", id="summary", options={"title": "Summary"})
    @step
    def start(self):
        self.items = [1, 2, 3]
        current.card["summary"].append(Markdown("# Items"))
        current.card["summary"].append(Table([[i, i * i] for i in self.items], headers=["item", "square"]))
        self.next(self.each, foreach="items")

    @card(type="blank")
    @step
    def each(self):
        self.square = self.input * self.input
        current.card.append(Markdown(f"**{self.input}** squared is **{self.square}**"))
        self.next(self.join)

    @step
    def join(self, inputs):
        self.squares = sorted(i.square for i in inputs)
        self.next(self.end)

    @card(type="html")
    @step
    def end(self):
        self.html = f"<h2>Squares: {self.squares}</h2>"


if __name__ == "__main__":
    CardsFlow()
