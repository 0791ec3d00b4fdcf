"""The production deployment files: docker-compose.yml, .env.example and the Dockerfile (Docker itself does not
run here, so their structure is checked)."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
AIRFLOW = ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]


def test_compose_has_the_data_database_airflow_services_and_init():
    services = COMPOSE["services"]
    assert set(services) == {"kcbx-db", "airflow-db", "airflow-init", *AIRFLOW}
    assert services["airflow-db"]["image"] == "postgres:16"
    # the data database is postgres:16 with kcbx_native compiled from the same source the embedded server uses
    assert services["kcbx-db"]["build"]["dockerfile"] == "Dockerfile.db"
    dockerfile = (ROOT / "Dockerfile.db").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM postgres:16\n" in dockerfile
    assert "COPY pipelines/native/kcbx_native.c" in dockerfile and '$(pg_config --pkglibdir)/kcbx_native.so' in dockerfile
    assert "airflow db migrate" in services["airflow-init"]["command"]
    for name in AIRFLOW:
        assert services[name]["command"].startswith("airflow " + name.split("-", 1)[1].replace("apiserver", "api-server"))


def test_every_long_running_service_has_a_healthcheck_and_waits_for_healthy_databases():
    services = COMPOSE["services"]
    for name in ["kcbx-db", "airflow-db", *AIRFLOW]:
        assert services[name]["healthcheck"]["test"], name
    for name in AIRFLOW:
        deps = services[name]["depends_on"]
        assert deps["kcbx-db"]["condition"] == deps["airflow-db"]["condition"] == "service_healthy"
        assert deps["airflow-init"]["condition"] == "service_completed_successfully"


def test_airflow_services_share_secrets_database_and_volumes():
    services = COMPOSE["services"]
    envs = [services[n]["environment"] for n in ["airflow-init", *AIRFLOW]]
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                "KCBX_DATABASE_URL", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"):
        assert len({e[key] for e in envs}) == 1, key
    assert "airflow-db" in envs[0]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "kcbx-db" in envs[0]["KCBX_DATABASE_URL"]
    volumes = services["airflow-scheduler"]["volumes"]
    for target in ("/opt/kcbx/inbox", "/opt/kcbx/data", "/opt/kcbx/reports", "/opt/airflow/dags"):
        assert any(v.split(":")[1] == target for v in volumes), target


def test_env_example_names_every_variable_the_compose_file_needs_and_holds_no_secret():
    needed = set(re.findall(r"(?<!\$)\$\{([A-Z_]+)", (ROOT / "docker-compose.yml").read_text(encoding="utf-8")))
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
                   if line and not line.startswith("#"))
    assert needed <= set(example)
    for key, value in example.items():
        if any(w in key for w in ("PASSWORD", "SECRET", "FERNET")):
            assert value == "CHANGE-ME", key


def test_image_installs_the_project_with_the_locked_versions():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "-c constraints.txt" in text and "COPY sql" in text and "COPY dags" in text
    pins = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    assert any(p.startswith("apache-airflow==3.") for p in pins)
    assert any(p.startswith("great_expectations==1.") for p in pins)
