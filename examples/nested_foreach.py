"""Nested foreach: a grid of (dataset shard, model size), joined inside out."""

from flowship import FlowSpec, step


class NestedForeachFlow(FlowSpec):
    @step
    def start(self):
        self.shards = ["a", "b", "c"]
        self.next(self.per_shard, foreach="shards")

    @step
    def per_shard(self):
        self.shard = self.input
        self.sizes = [1, 2]
        self.next(self.train, foreach="sizes")

    @step
    def train(self):
        self.size = self.input
        self.result = f"{self.shard}{self.size}"
        self.next(self.join_sizes)

    @step
    def join_sizes(self, inputs):
        self.shard_results = sorted(i.result for i in inputs)
        self.next(self.join_shards)

    @step
    def join_shards(self, inputs):
        self.all_results = sorted(r for i in inputs for r in i.shard_results)
        self.next(self.end)

    @step
    def end(self):
        print(self.all_results)


if __name__ == "__main__":
    NestedForeachFlow()
