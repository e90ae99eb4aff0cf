"""flow deploy / flow trigger for Argo, with the real kubernetes client against a loopback stand-in API.

No Kubernetes cluster can run here: ``k8s_standin.StandIn`` answers the few
custom-object endpoints used (get, create, replace), nothing more.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import EXAMPLES, REPO

pytest.importorskip("kubernetes", reason="flow deploy --target argo needs the kubernetes client (pip install 'flowship[argo]')")
from k8s_standin import StandIn  # noqa: E402


@pytest.fixture
def standin():
    server = StandIn()
    yield server
    server.close()


def flow(*args: str, kubeconfig, store) -> subprocess.CompletedProcess:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "FLOWSHIP_DATASTORE": str(store)}
    return subprocess.run([sys.executable, "-m", "flowship", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_deploy_creates_then_replaces_and_uploads_the_package(standin, tmp_path):
    config, store = standin.kubeconfig(tmp_path), tmp_path / "store"
    first = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", kubeconfig=config, store=store)
    assert first.returncode == 0, first.stderr
    assert "will create WorkflowTemplate ml/hello-flow" in first.stdout
    assert "created WorkflowTemplate ml/hello-flow" in first.stdout
    assert ("ml", "workflowtemplates", "hello-flow") in standin.objects
    assert len(list((store / "HelloFlow" / "packages").glob("*.tar.gz"))) == 1
    second = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", kubeconfig=config, store=store)
    assert "will replace WorkflowTemplate ml/hello-flow" in second.stdout
    assert "replaced WorkflowTemplate ml/hello-flow" in second.stdout
    assert standin.objects[("ml", "workflowtemplates", "hello-flow")]["metadata"]["resourceVersion"] == "2"


def test_delete_removes_the_template_and_its_schedule(standin, tmp_path):
    config, store = standin.kubeconfig(tmp_path), tmp_path / "s"
    assert flow("deploy", str(EXAMPLES / "daily_retrain.py"), "--target", "argo", kubeconfig=config, store=store).returncode == 0
    assert len(standin.objects) == 2
    dry = flow("delete", str(EXAMPLES / "daily_retrain.py"), "--target", "argo", "--dry-run", kubeconfig=config, store=store)
    assert dry.returncode == 0 and len(standin.objects) == 2
    name = f"wine-user-{_user()}-daily-retrain-flow"
    assert dry.stdout.splitlines()[:2] == [f"will delete CronWorkflow ml/{name}", f"will delete WorkflowTemplate ml/{name}"]
    deleted = flow("delete", str(EXAMPLES / "daily_retrain.py"), "--target", "argo", kubeconfig=config, store=store)
    assert deleted.returncode == 0 and standin.objects == {}
    again = flow("delete", str(EXAMPLES / "daily_retrain.py"), "--target", "argo", kubeconfig=config, store=store)
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == "nothing to delete"


def test_a_schedule_removed_from_the_flow_is_removed_from_the_cluster(standin, tmp_path):
    config, store = standin.kubeconfig(tmp_path), tmp_path / "s"
    source = tmp_path / "retrain.py"
    source.write_text((EXAMPLES / "daily_retrain.py").read_text())
    assert flow("deploy", str(source), "--target", "argo", kubeconfig=config, store=store).returncode == 0
    assert {k[1] for k in standin.objects} == {"workflowtemplates", "cronworkflows"}
    source.write_text(source.read_text().replace("@schedule(daily=True)\n", ""))
    again = flow("deploy", str(source), "--target", "argo", kubeconfig=config, store=store)
    assert again.returncode == 0, again.stderr
    name = f"wine-user-{_user()}-daily-retrain-flow"
    assert f"will delete CronWorkflow ml/{name}" in again.stdout and f"deleted CronWorkflow ml/{name}" in again.stdout
    assert {k[1] for k in standin.objects} == {"workflowtemplates"}


def test_rbac_objects_are_created_replaced_and_deleted_with_the_deployment(standin, tmp_path):
    config, store = standin.kubeconfig(tmp_path), tmp_path / "s"
    deployed = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", "--rbac", "--namespace", "ml", kubeconfig=config, store=store)
    assert deployed.returncode == 0, deployed.stderr
    assert sorted(standin.objects) == [("ml", "rolebindings", "hello-flow-workflow"), ("ml", "roles", "hello-flow-workflow"),
                                       ("ml", "serviceaccounts", "hello-flow-workflow"), ("ml", "workflowtemplates", "hello-flow")]
    template = standin.objects[("ml", "workflowtemplates", "hello-flow")]
    assert template["spec"]["serviceAccountName"] == "hello-flow-workflow"
    assert standin.objects[("ml", "roles", "hello-flow-workflow")]["rules"] == [
        {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}]
    without = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", "--namespace", "ml", kubeconfig=config,
                   store=store)
    assert "deleted RoleBinding ml/hello-flow-workflow" in without.stdout  # the deployment is what it now says
    assert sorted(standin.objects) == [("ml", "workflowtemplates", "hello-flow")]
    assert flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", "--rbac", "--namespace", "ml", "--service-account", "mine",
                kubeconfig=config, store=store).returncode == 0
    assert ("ml", "serviceaccounts", "mine") not in standin.objects  # the user's own account is bound, not made
    binding = standin.objects[("ml", "rolebindings", "hello-flow-workflow")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "mine", "namespace": "ml"}]
    deleted = flow("delete", str(EXAMPLES / "hello.py"), "--target", "argo", kubeconfig=config, store=store)
    assert deleted.returncode == 0 and standin.objects == {}
    assert "deleted Role ml/hello-flow-workflow" in deleted.stdout


def test_without_rbac_rights_a_deploy_never_reads_or_touches_rbac_objects(standin, tmp_path):
    config, store = standin.kubeconfig(tmp_path), tmp_path / "s"
    standin.mode = "rbac-forbidden"  # Kubernetes' edit role: Argo's objects, no Roles or RoleBindings
    deployed = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", kubeconfig=config, store=store)
    assert deployed.returncode == 0, deployed.stderr
    deleted = flow("delete", str(EXAMPLES / "hello.py"), "--target", "argo", kubeconfig=config, store=store)
    assert deleted.returncode == 0, deleted.stderr
    assert standin.objects == {}


def test_an_account_flowship_did_not_make_is_never_replaced_or_deleted(standin, tmp_path):
    config, store = standin.kubeconfig(tmp_path), tmp_path / "s"
    theirs = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
        "name": "hello-flow-workflow", "resourceVersion": "1",
        "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/store"}}}
    standin.objects[("ml", "serviceaccounts", "hello-flow-workflow")] = theirs
    refused = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", "--rbac", "--namespace", "ml",
                   kubeconfig=config, store=store)
    assert refused.returncode == 1
    assert ("ServiceAccount ml/hello-flow-workflow exists and was not made by --rbac for hello-flow: name your own "
            "account with --service-account, or remove it") in refused.stderr
    assert flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", kubeconfig=config, store=store).returncode == 0
    assert flow("delete", str(EXAMPLES / "hello.py"), "--target", "argo", kubeconfig=config, store=store).returncode == 0
    assert standin.objects == {("ml", "serviceaccounts", "hello-flow-workflow"): theirs}


def _user() -> str:
    from flowship.runtime.runs import current_user

    return current_user()


def test_dry_run_without_a_cluster_says_what_it_would_apply(tmp_path):
    result = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", "--dry-run", kubeconfig=tmp_path / "none",
                  store=tmp_path / "s")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-3:] == [
        "cannot tell what exists (no Kubernetes cluster configured: set KUBECONFIG or ~/.kube/config (or run inside "
        "a pod)); create or replace:", "will apply WorkflowTemplate hello-flow", "dry run: nothing uploaded or applied"]


def test_dry_run_changes_nothing(standin, tmp_path):
    result = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", "--dry-run", kubeconfig=standin.kubeconfig(tmp_path), store=tmp_path / "s")
    assert result.returncode == 0 and "dry run: nothing uploaded or applied" in result.stdout
    assert standin.objects == {} and not (tmp_path / "s").exists()


def test_trigger_submits_a_workflow_with_parameters(standin, tmp_path):
    config = standin.kubeconfig(tmp_path)
    assert flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", kubeconfig=config, store=tmp_path / "s").returncode == 0
    result = flow("trigger", "HelloFlow", "--target", "argo", "--who", "it's $(me)", kubeconfig=config, store=tmp_path / "s")
    assert result.returncode == 0, result.stderr
    (workflow,) = [o for k, o in standin.objects.items() if k[1] == "workflows"]
    assert workflow["spec"] == {"workflowTemplateRef": {"name": "hello-flow"},
                                "arguments": {"parameters": [{"name": "who", "value": "it's $(me)"}]}}
    unknown = flow("trigger", "HelloFlow", "--target", "argo", "--nope", "1", kubeconfig=config, store=tmp_path / "s")
    assert unknown.returncode == 2 and "unrecognized arguments: --nope 1" in unknown.stderr
    prefix = flow("trigger", "HelloFlow", "--target", "argo", "--wh", "x", kubeconfig=config, store=tmp_path / "s")
    assert prefix.returncode == 2 and "unrecognized arguments: --wh x" in prefix.stderr  # --wh is not --who


def test_trigger_gives_the_workflow_the_deployments_priority(standin, tmp_path):
    config = standin.kubeconfig(tmp_path)
    assert flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", "--priority", "7", kubeconfig=config,
                store=tmp_path / "s").returncode == 0
    assert flow("trigger", "HelloFlow", "--target", "argo", kubeconfig=config, store=tmp_path / "s").returncode == 0
    (workflow,) = [o for k, o in standin.objects.items() if k[1] == "workflows"]
    assert workflow["spec"]["priority"] == 7  # where Argo reads it: the Workflow's own spec


def test_project_deployments_are_found_by_project_and_branch(standin, tmp_path):
    config, store = standin.kubeconfig(tmp_path), tmp_path / "s"
    deployed = flow("deploy", str(EXAMPLES / "daily_retrain.py"), "--target", "argo", "--production", kubeconfig=config, store=store)
    assert deployed.returncode == 0, deployed.stderr
    assert {k[2] for k in standin.objects} == {"wine-prod-daily-retrain-flow"}  # the template and the CronWorkflow
    result = flow("trigger", "DailyRetrainFlow", "--target", "argo", "--project", "wine", "--production", "--seed", "4",
                  kubeconfig=config, store=store)
    assert result.returncode == 0, result.stderr
    (workflow,) = [o for k, o in standin.objects.items() if k[1] == "workflows"]
    assert workflow["spec"]["workflowTemplateRef"] == {"name": "wine-prod-daily-retrain-flow"}
    wrong = flow("trigger", "DailyRetrainFlow", "--target", "argo", "--project", "wine", "--production", "--seed", "four",
                 kubeconfig=config, store=store)
    assert (wrong.returncode, wrong.stderr) == (
        1, "error: --seed: 'four' is not a valid int (invalid literal for int() with base 10: 'four')\n")
    assert len([k for k in standin.objects if k[1] == "workflows"]) == 1  # nothing started
    assert workflow["spec"]["arguments"]["parameters"] == [{"name": "seed", "value": "4"}]


@pytest.mark.parametrize("mode, message", [
    ("forbidden", "error: WorkflowTemplate ml/hello-flow: no permission in namespace ml (403 Forbidden)"),
    ("no-crds", "error: WorkflowTemplate ml/hello-flow: Argo Workflows is not installed on this cluster (no argoproj.io CRDs)"),
])
def test_cluster_errors_are_clear(standin, tmp_path, mode, message):
    standin.mode = mode
    result = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", kubeconfig=standin.kubeconfig(tmp_path), store=tmp_path / "s")
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1].startswith(message)


def test_no_cluster_configured(tmp_path):
    result = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", kubeconfig=tmp_path / "missing", store=tmp_path / "s")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "error: no Kubernetes cluster configured: set KUBECONFIG or ~/.kube/config (or run inside a pod)"


def test_unreachable_cluster(standin, tmp_path):
    config = standin.kubeconfig(tmp_path)
    standin.close()
    result = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "argo", kubeconfig=config, store=tmp_path / "s")
    assert result.returncode == 1 and "cannot reach the Kubernetes API" in result.stderr


def test_a_triggered_flows_sensor_is_applied_and_deleted_with_its_template(standin, tmp_path):
    config, store = standin.kubeconfig(tmp_path), tmp_path / "s"
    deployed = flow("deploy", str(EXAMPLES / "train.py"), "--target", "argo", "--production", kubeconfig=config,
                    store=store)
    assert deployed.returncode == 0, deployed.stderr
    assert {(kind, name) for _, kind, name in standin.objects} == {
        ("workflowtemplates", "demand-prod-train-flow"), ("sensors", "demand-prod-train-flow")}
    deleted = flow("delete", str(EXAMPLES / "train.py"), "--target", "argo", "--production", kubeconfig=config,
                   store=store)
    assert deleted.returncode == 0 and standin.objects == {}, deleted.stdout
    assert deleted.stdout.splitlines()[1:3] == ["will delete Sensor ml/demand-prod-train-flow",
                                                "will delete WorkflowTemplate ml/demand-prod-train-flow"]
