"""Compatibility fixture: num_parallel= starts a gang of @parallel nodes that wait for each other."""
import os
import time

from flowship import FlowSpec, Parameter, current, parallel, step


class GangFlow(FlowSpec):
    nodes = Parameter("nodes", default=3)
    rendezvous = Parameter("rendezvous", help="a folder where the nodes meet")

    @step
    def start(self):
        self.next(self.train, num_parallel=self.nodes)

    @parallel
    @step
    def train(self):
        p = current.parallel
        open(os.path.join(self.rendezvous, str(p.node_index)), "w").close()
        deadline = time.monotonic() + 60
        while len(os.listdir(self.rendezvous)) < p.num_nodes:  # every node must be running at once
            if time.monotonic() > deadline:
                raise RuntimeError(f"node {p.node_index} waited 60 s for the others")
            time.sleep(0.05)
        self.node = (p.node_index, p.num_nodes, p.main_ip, p.control_task_id, self.input)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.nodes_seen = sorted(i.node for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    GangFlow()
