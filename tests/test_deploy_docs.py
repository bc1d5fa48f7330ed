"""docs/deploy/ (Helm values, Dockerfile) stays in step with the code it deploys: the variables are
the ones settings.py reads, no secret is written in them, the run queue and pools are dagster.yaml's,
and the Dockerfile copies paths that exist and serves the definitions module."""

import re
from urllib.parse import urlsplit

import yaml

from analytics_platform import settings
from analytics_platform.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "docs" / "deploy"
VALUES = yaml.safe_load((DEPLOY / "values.yaml").read_text())
INSTANCE = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())


def test_the_code_location_gets_the_shared_mode_settings_and_no_secret():
    (deployment,) = VALUES["dagster-user-deployments"]["deployments"]
    env = deployment["env"]
    read_by_settings = {value for name, value in vars(settings).items() if name.endswith("_VARIABLE")}
    assert {settings.CATALOG_URL_VARIABLE, settings.DATA_URL_VARIABLE, settings.S3_ENDPOINT_VARIABLE,
            settings.MLFLOW_URL_VARIABLE, settings.FILES_URL_VARIABLE} <= set(env)
    assert {name for name in env if name.startswith("ANALYTICS_") and name != "ANALYTICS_DUCKDB_MEMORY_LIMIT"} <= read_by_settings
    assert not {"PGPASSWORD", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"} & set(env)
    for value in env.values():
        assert urlsplit(str(value)).password is None
    secret = [s["name"] for s in deployment["envSecrets"]]
    assert secret == [s["name"] for s in VALUES["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"]]
    assert VALUES["runLauncher"]["type"] == "K8sRunLauncher" and VALUES["postgresql"]["enabled"] is False


def test_the_run_queue_and_pools_are_dagster_yamls():
    queue = VALUES["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queue["tagConcurrencyLimits"] == INSTANCE["concurrency"]["runs"]["tag_concurrency_limits"]
    assert VALUES["additionalInstanceConfig"]["concurrency"]["pools"] == INSTANCE["concurrency"]["pools"]
    assert VALUES["dagsterDaemon"]["runRetries"]["maxRetries"] == INSTANCE["run_retries"]["max_retries"]


def test_the_dockerfile_copies_what_exists_and_serves_the_definitions():
    text = (DEPLOY / "Dockerfile").read_text()
    copied = [part for line in re.findall(r"^COPY (.+)$", text, re.M) for part in line.split()[:-1]]
    assert copied and all((PROJECT_ROOT / part).exists() for part in copied), copied
    assert "requirements.lock" in copied
    module = re.search(r'"--module-name", "([\w.]+)"', text).group(1)
    assert (PROJECT_ROOT / (module.replace(".", "/") + ".py")).exists()
    (deployment,) = VALUES["dagster-user-deployments"]["deployments"]
    assert deployment["codeServerArgs"] == ["--module-name", module] and f"EXPOSE {deployment['port']}" in text
