# shopflow: `make demo` and `make test` do all set-up on a fresh machine (Python 3.11, Java 17).
# The first run creates .venv with uv and installs the pinned set; later runs reuse it.

PYTHON      ?= python3.11
VENV        := .venv
BIN         := $(VENV)/bin
UV_VERSION  := 0.13.9
STAMP       := $(VENV)/.installed-stamp
# dbt has an environment of its own: dbt-bigquery and the Airflow Google provider need
# incompatible google-cloud-storage releases. Reinstalled only when requirements-dbt.txt changes.
DBT_VENV    := .venv-dbt
DBT_STAMP   := $(DBT_VENV)/.installed-stamp
DBT         := $(CURDIR)/$(DBT_VENV)/bin/dbt
# The manifest Cosmos renders shopflow_daily's dbt tasks from (dbt parse, never at DAG parse).
DBT_MANIFEST := sql/target/manifest.json
DBT_SOURCES := $(shell find sql/models sql/macros sql/tests -name '*.sql' -o -name '*.yml' 2>/dev/null) sql/dbt_project.yml sql/profiles.yml
export SHOPFLOW_HOME ?= $(CURDIR)/data
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Nothing phones home (the values of shopflow.runtime.TELEMETRY_OFF; a test holds them equal).
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export SCARF_NO_ANALYTICS := true
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_VERSION_CHECK := false

FROM ?= 2019-11-01
TO   ?= 2019-11-30
DATA ?=

.PHONY: dbt docs demo test test-unit bench bench-month airflow airflow-stop mlflow backfill dashboard lock install clean-data

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python --quiet -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	@touch $(STAMP)

$(DBT_STAMP): requirements-dbt.txt $(STAMP)
	@test -x $(DBT_VENV)/bin/python || $(PYTHON) -m venv $(DBT_VENV)
	$(BIN)/uv pip install --python $(DBT_VENV)/bin/python --quiet -r requirements-dbt.txt
	@touch $(DBT_STAMP)

$(DBT_MANIFEST): $(DBT_STAMP) $(DBT_SOURCES)
	cd sql && DBT_PROFILES_DIR=. $(DBT) --no-use-colors --quiet parse

## dbt's environment and the parsed project (the manifest Cosmos reads).
dbt: $(DBT_MANIFEST)

## The dbt docs site (models, tests, lineage) of sql/ on localhost:8081.
docs: $(DBT_MANIFEST)
	@mkdir -p $(SHOPFLOW_HOME)
	cd sql && DBT_PROFILES_DIR=. $(DBT) --no-use-colors docs generate --empty-catalog
	cd sql && DBT_PROFILES_DIR=. $(DBT) --no-use-colors docs serve --host 127.0.0.1 --port 8081 --no-browser

## The main job on embedded defaults: a sample month through the whole pipeline.
# A step killed by the kernel cannot speak for itself: shopflow.resources explains what it held.
demo: $(STAMP) $(DBT_MANIFEST)
	$(BIN)/shopflow demo $(if $(DATA),--data $(DATA),) || $(BIN)/python -m shopflow.resources explain $$?

## Every test tier: unit, spark, airflow, e2e, stack.
test: $(STAMP) $(DBT_MANIFEST)
	$(BIN)/python -m pytest

test-unit: $(STAMP) $(DBT_MANIFEST)
	$(BIN)/python -m pytest -m unit

## Every benchmark; JSON results under bench/results/.
bench: $(STAMP) $(DBT_MANIFEST)
	$(BIN)/python -m bench

## The whole user path on a generated month at the real file's size (about 45 min, 20 GB of
## scratch space in SHOPFLOW_BENCH_DIR); writes bench/results/bench_month.json and docs/bench-month.*
bench-month: $(STAMP) $(DBT_MANIFEST)
	$(BIN)/python -m bench.month --docs

## Airflow standalone with this repo's DAGs and plugins.
airflow: $(STAMP)
	$(BIN)/shopflow airflow standalone

## Stop the airflow standalone that `make backfill` started in the background.
airflow-stop: $(STAMP)
	$(BIN)/shopflow airflow stop

## The MLflow UI on the same tracking store.
mlflow: $(STAMP)
	$(BIN)/shopflow airflow mlflow-ui

## docker-compose.yaml's team stack without Docker: the same services as processes on loopback
## (PostgreSQL, the four Airflow services, Spark master and worker, MLflow with basic auth).
## Reads .env when present, else makes fresh secrets; Ctrl-C stops everything.
.PHONY: stack
stack: $(STAMP) $(DBT_MANIFEST)
	$(BIN)/python -m shopflow.stack $(if $(wildcard .env),--env-file .env,)

## Queue an Airflow backfill FROM..TO and wait for it.
backfill: $(STAMP)
	$(BIN)/shopflow airflow backfill --from $(FROM) --to $(TO)

## Write the dashboard and open it through Airflow (the plugin's page; starts Airflow if needed).
dashboard: $(STAMP)
	$(BIN)/shopflow airflow dashboard

## Re-resolve requirements.lock from pyproject.toml (no index URLs are written).
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header -o requirements.lock

clean-data:
	rm -rf $(SHOPFLOW_HOME)
