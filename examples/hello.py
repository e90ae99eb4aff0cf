"""The smallest useful flow: a parameter, three steps, an artifact passed along."""

from flowship import FlowSpec, Parameter, step


class HelloFlow(FlowSpec):
    """Greets someone, then counts the letters of the greeting."""

    name_to_greet = Parameter("who", default="world", help="who to greet")

    @step
    def start(self):
        self.greeting = f"hello, {self.name_to_greet}"
        self.next(self.count)

    @step
    def count(self):
        self.letters = sum(c.isalpha() for c in self.greeting)
        self.next(self.end)

    @step
    def end(self):
        print(self.greeting, self.letters)


if __name__ == "__main__":
    HelloFlow()
