# The two commands: `make demo` and `make test`. Everything else is what they use.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION ?= 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
STACK := deploy/local/stack.sh
# uv trusts the system's certificate store (as pip and Maven do), so a site CA installed
# there (a TLS-inspecting proxy, say) works without extra environment variables.
export UV_SYSTEM_CERTS ?= 1
SERVICES := customers invoicing reminders dispatch
# The real Kafka + PostgreSQL of `make test` / `make integration` (tests/support/servers.py):
# containers through testcontainers (`images`: the engine and local/kafka, local/postgres);
# BILLING_TEST_SERVERS=local: the local stack (machines without an engine);
# BILLING_TEST_SERVERS=environment: KAFKA_BOOTSTRAP_SERVERS + DATABASE_URL as given.
TEST_SERVERS := $(if $(filter local,$(BILLING_TEST_SERVERS)),stack-up,$(if $(filter environment,$(BILLING_TEST_SERVERS)),,images))
WITH_TEST_SERVERS := $(if $(filter images,$(TEST_SERVERS)),eval "$$(bash deploy/containers/engine.sh env)" && export BILLING_TEST_SERVERS=containers &&)

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

tools: ## install what a fresh machine lacks (uv, JDK, Maven, PostgreSQL, Chromium, Node.js)
	@command -v uv >/dev/null || [ -x $(HOME)/.local/bin/uv ] || python3 -m pip install --quiet --user "uv==$(UV_VERSION)" \
		|| python3 -m pip install --quiet --break-system-packages --user "uv==$(UV_VERSION)"
	@missing=""; command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	 command -v mvn >/dev/null || missing="$$missing maven"; \
	 ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$$missing postgresql"; \
	 command -v chromium >/dev/null || missing="$$missing chromium"; \
	 command -v npm >/dev/null || missing="$$missing npm"; \
	 if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	   DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

deps: tools ## the Python environment from the lock file; axe-core for the browser tests from theirs
	$(UV) sync --frozen --quiet
	npm ci --prefix tests/browser --no-audit --no-fund --silent

stack-up: tools ## start Kafka (KRaft) and PostgreSQL as local processes
	bash $(STACK) up

stack-down: ## stop what stack-up started
	bash $(STACK) down

stack-status: ## is the local stack running?
	bash $(STACK) status

migrate: deps stack-up ## apply every service's migrations
	eval "$$(bash $(STACK) env)" && $(UV) run billing migrate all

images: ## the container images (engine first): project, Kafka, PostgreSQL, SMTP sink; reuses what exists
	bash deploy/containers/engine.sh up
	bash deploy/containers/images.sh all

containers: ## the container engine, the docker compose plugin and the images (what compose and the test kit need)
	bash deploy/containers/engine.sh up
	bash deploy/containers/compose-plugin.sh
	bash deploy/containers/images.sh all

# The alert rules: syntax, then their unit tests (promtool, built once by deploy/tools/go-tool.sh).
ALERT_RULES = PROMTOOL=$$(bash deploy/tools/go-tool.sh promtool) && $$PROMTOOL check rules deploy/prometheus/alerts.yml \
	&& $$PROMTOOL test rules deploy/prometheus/alerts.test.yml

check: deps ## lint, format, types, architecture contracts, Kubernetes manifests (kustomize, kubeconform, kube-score), alert rules (promtool): the tools built once with Go
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports
	$(UV) run billing asyncapi --check
	bash deploy/tools/go-tool.sh kustomize >/dev/null && bash deploy/tools/go-tool.sh kubeconform >/dev/null && bash deploy/tools/go-tool.sh kube-score >/dev/null
	$(UV) run python deploy/k8s/validate.py
	$(ALERT_RULES)

alert-rules: ## the Prometheus alert rules alone: promtool check and unit tests (part of check)
	$(ALERT_RULES)

# pytest-xdist: the tests spread over TEST_WORKERS processes (`--dist load`: tests are handed
# out in small batches as workers free up; `worksteal` hung once at the very end of a
# run, every test passed and every worker idle, the controller waiting), each a
# session of its own with its own Kafka and PostgreSQL (containers), so an outage test
# stops only its own. Most of a test's time is waiting on Kafka and on processes, so more
# workers than the 2 cores pay; TEST_WORKERS=0 runs in this one process.
TEST_WORKERS ?= 4
PYTEST_PARALLEL = $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist load)

unit: deps ## the fast tier: unit and in-memory tests (marker unit; no servers)
	$(UV) run pytest -q -m unit $(PYTEST_PARALLEL)

integration: deps $(TEST_SERVERS) ## integration tests only (tests/integration: real Kafka + PostgreSQL)
	$(WITH_TEST_SERVERS) $(UV) run pytest tests/integration -q $(PYTEST_PARALLEL)

test: deps $(TEST_SERVERS) check ## everything: checks, unit, integration (real Kafka + PostgreSQL in containers), the example project through the kit
	$(WITH_TEST_SERVERS) $(UV) run pytest -q $(PYTEST_PARALLEL)
	$(if $(filter images,$(TEST_SERVERS)),$(RUN_EXAMPLE),@echo "examples/order-system: not run (it starts the system from its images: needs the container engine)")

# The example outside project: its own environment (the kit as a path dependency), its own pytest.
RUN_EXAMPLE = cd examples/order-system && eval "$$(bash ../../deploy/containers/engine.sh env)" && $(UV) sync --frozen --quiet && $(UV) run pytest -q

example-test: deps images ## the example outside project (examples/order-system) against our images, through the test kit
	$(RUN_EXAMPLE)
.PHONY: example-test

demo: deps stack-up ## the whole system at work: services, workers, SMTP sink, demo data, the clerk's day, a report
	bash deploy/local/demo.sh up

demo-down: ## stop what make demo started: its processes, then the local stack
	bash deploy/local/demo.sh down
	bash $(STACK) down

# the benchmarks and chaos measure the local stack they start (unless told otherwise)
bench-customers bench-invoicing bench-reminders bench-dispatch bench chaos: export BILLING_TEST_SERVERS ?= local

bench-customers: deps stack-up ## customers: 100,000 upserts through Kafka vs the raw floor
	$(UV) run python -m tests.bench.customers $(BENCH_ARGS)

bench-invoicing: deps stack-up ## invoicing: 100,000 requests in, a confirmed run over them, vs the floors
	$(UV) run python -m tests.bench.invoicing $(BENCH_ARGS)

bench-reminders: deps stack-up ## reminders: 100,000 invoices projected, listed, reminded #1 and published vs the raw floor
	$(UV) run python -m tests.bench.reminders $(BENCH_ARGS)

bench-dispatch: deps stack-up ## dispatch: 20,000 documents per channel worker run (e-mail x1, x2; Finvoice; print) vs floors
	$(UV) run python -m tests.bench.dispatch $(BENCH_ARGS)

bench: deps stack-up ## the whole pipeline: 100,000 requests in -> invoiced -> delivered per channel, latency, floors
	$(UV) run python -m tests.bench.pipeline $(BENCH_ARGS)

chaos: deps stack-up ## the pipeline on 20,000 requests while processes are SIGKILLed; invariants PASS/FAIL
	$(UV) run python -m tests.bench.chaos $(CHAOS_ARGS)

compose-test: deps containers ## docker-compose.yml up from our images, checked as an outside system and a clerk would, torn down
	$(UV) run python -m tests.compose.run

cluster-test: deps containers ## the pipeline on a three-broker Kafka cluster (deploy/cluster) while brokers are SIGKILLed, two at once; invariants PASS/FAIL
	$(UV) run python -m tests.cluster.run $(CLUSTER_ARGS)

.PHONY: help tools deps stack-up stack-down stack-status migrate images containers check unit integration test demo demo-down bench-customers bench-invoicing bench-reminders bench-dispatch bench chaos compose-test cluster-test
