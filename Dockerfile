# kcbx on Airflow 3: the project and its locked dependencies in one image, used by every Airflow service.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    AIRFLOW_HOME=/opt/airflow KCBX_DATA_DIR=/opt/kcbx/data KCBX_INBOX=/opt/kcbx/inbox KCBX_REPORTS=/opt/kcbx/reports

RUN apt-get update && apt-get install -y --no-install-recommends chromium fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 50000 kcbx \
    && mkdir -p /opt/airflow /opt/kcbx/data /opt/kcbx/inbox /opt/kcbx/reports \
    && chown -R kcbx /opt/airflow /opt/kcbx

WORKDIR /opt/kcbx/app
COPY pyproject.toml constraints.txt README.md ./
COPY pipelines ./pipelines
COPY sql ./sql
COPY expectations ./expectations
COPY templates ./templates
COPY dags /opt/airflow/dags
RUN pip install --no-cache-dir -c constraints.txt -e .

USER kcbx
