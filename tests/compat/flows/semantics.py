"""Compatibility fixture: Metaflow semantics a flow relies on, run unchanged on every target."""
from flowship import FlowSpec, Parameter, card, catch, current, project, step


@project(name="compat")
class SemanticsFlow(FlowSpec):
    max_depth = Parameter("max-depth", default=3, help="a dashed name, as Metaflow allows")
    sizes = Parameter("sizes", multiple=True, default=[1, 2], type=int, help="given once per value")
    THRESHOLD = 0.75
    LABELS = ("a", "b")

    @card
    @step
    def start(self):
        try:
            earlier = self.not_set_yet
        except AttributeError:
            earlier = None
        self.earlier = earlier
        self.depth_seen = self.max_depth
        self.sizes_seen = self.sizes
        self.next(self.fine, self.broken)

    @catch(var="failure", print_exception=False)
    @step
    def fine(self):
        self.value = 1
        self.next(self.join)

    @catch(var="failure")
    @step
    def broken(self):
        self.value = 2
        self.ratio = 1 / 0
        self.next(self.join)

    @step
    def join(self, branches):
        self.outcomes = {b._step: (b.failure is None, getattr(b.failure, "type", None)) for b in branches}
        self.message = branches.broken.failure.exception
        self.threshold_in_join = self.THRESHOLD
        self.next(self.end)

    @step
    def end(self):
        self.where = (current.project_name, current.branch_name, current.is_production)


if __name__ == "__main__":
    SemanticsFlow()
