"""Generate large valid flows for benchmarks: repeated split/join and foreach blocks."""

from __future__ import annotations

# one block: a static split closed by a join, then a foreach closed by a gather
BLOCK = (
    ("split{n}", ("left{n}", "right{n}"), None, False),
    ("left{n}", ("join{n}",), None, False),
    ("right{n}", ("join{n}",), None, False),
    ("join{n}", (), None, True),
    ("fan{n}", ("work{n}",), "items{n}", False),
    ("work{n}", ("gather{n}",), None, False),
    ("gather{n}", (), None, True),
)


def large_flow_source(steps: int) -> str:
    """Source of a valid flow with exactly ``steps`` steps (at least 2)."""
    specs = []
    while len(specs) + len(BLOCK) <= steps - 2:
        n = len(specs)
        specs += [(name.format(n=n), tuple(t.format(n=n) for t in targets), foreach and foreach.format(n=n), join)
                  for name, targets, foreach, join in BLOCK]
    specs += [(f"tail{i}", (), None, False) for i in range(steps - 2 - len(specs))]
    order = ["start"] + [name for name, *_ in specs] + ["end"]
    lines = ["from flowship import FlowSpec, resources, retry, step", "", "", "class LargeFlow(FlowSpec):",
             "    @step", "    def start(self):", "        self.x = 0", f"        self.next(self.{order[1]})", ""]
    for index, (name, targets, foreach, join) in enumerate(specs):
        targets = targets or (order[index + 2],)
        if name.startswith("work"):
            lines += ["    @retry(times=2)", "    @resources(cpu=2, memory='4Gi')"]
        lines += ["    @step", f"    def {name}(self{', inputs' if join else ''}):"]
        if join:
            lines.append("        self.merge_artifacts(inputs, exclude=['item'])")
        if foreach:
            lines.append(f"        self.{foreach} = [1, 2, 3]")
        if name.startswith("work"):
            lines.append("        self.item = self.input")
        lines.append("        self.x = self.x + 1")
        foreach_text = f", foreach='{foreach}'" if foreach else ""
        lines += [f"        self.next({', '.join('self.' + t for t in targets)}{foreach_text})", ""]
    lines += ["    @step", "    def end(self):", "        print(self.x)", ""]
    return "\n".join(lines)
