# fillstream: `make run` runs the main job on embedded defaults; `make test` runs every test.
SHELL := /bin/bash
DATA ?= .data/run
NODE_DEPS := node_modules/.package-lock.json

# Everything below runs on the pinned Node.js LTS: the machine's node when it is that major or newer,
# else the release infra/dev/node.sh fetches from the npm registry into .cache/node/ (once).
NODE_BIN := $(shell infra/dev/node.sh bin)
ifeq ($(NODE_BIN),)
$(error no Node.js to run on: infra/dev/node.sh bin failed (see above))
endif
export PATH := $(NODE_BIN):$(PATH)

.PHONY: run test bench build deps clean schemas typecheck lint lint-cycles format services-up services-down

# `npm install`, not `npm ci`: chdb lists its native library for every platform as an optional
# dependency, and registries that only carry this platform's leave those out of the lock, which
# `npm ci` refuses as out of sync. With the lock in sync, `npm install` installs what it pins.
$(NODE_DEPS): package.json package-lock.json
	npm install --no-audit --no-fund
	@touch $(NODE_DEPS)

deps: $(NODE_DEPS)

build: deps
	npx tsc -p tsconfig.json

# The bundled sample of intents against the simulated venue; prints blotter, positions and PnL.
# Running it again resumes on the same data dir and processes nothing twice.
run: build
	node dist/cli/main.js run --data-dir $(DATA) --intents examples/intents.ndjson --policy examples/policy.json --until-idle

# The test files that need Kafka: `make test` runs them a second time on kafkajs
# (FILLSTREAM_KAFKA_CLIENT=kafkajs), after the whole suite on the default client (@platformatic/kafka), with the same services.
KAFKA_TESTS := $(sort $(wildcard test/kafka/*.test.ts)) test/redis/kafka-projector.test.ts

# External services (Kafka, a schema registry, Redis, ClickHouse) come from infra/dev/services.sh, which also installs
# the tools the tests call (kcat): reused when already running, else started here and stopped
# afterwards whatever the outcome (EXIT trap; the tests' exit status is kept). Its own state file,
# so a broker from `make services-up` outlives the test run.

test: build
	npx tsc -p tsconfig.test.json
	@$(MAKE) --no-print-directory lint
	infra/dev/opa.sh test policies/rego
	infra/dev/helm.sh lint --strict helm/fillstream
	infra/dev/helm.sh lint --strict helm/fillstream -f helm/fillstream/ci/secrets-values.yaml
	@# The rendered manifests must parse (helm template fails on bad YAML); what they say is checked by test/infra/helm.test.ts.
	infra/dev/helm.sh template fillstream helm/fillstream -f helm/fillstream/ci/secrets-values.yaml >/dev/null
	infra/dev/helm.sh template fillstream helm/fillstream --set partitions=1,serviceMonitor.enabled=false,topics.create=false >/dev/null
	infra/dev/prometheus.sh promtool check rules infra/prometheus/alerts.yml
	infra/dev/prometheus.sh promtool test rules infra/prometheus/alerts.test.yml
	@# The test peers the ops tests start: built once from the Go module proxy into .cache/ (seconds when built before).
	infra/dev/prometheus.sh fetch prometheus
	infra/dev/jaeger.sh fetch
	infra/dev/schemathesis.sh fetch
	infra/dev/chromium.sh bin >/dev/null
	export SERVICES_STATE=$(CURDIR)/.cache/services.test.started; \
	trap 'infra/dev/services.sh down' EXIT; \
	service_env=$$(infra/dev/services.sh up) || exit $$?; \
	set -a; eval "$$service_env"; set +a; \
	mkdir -p .cache/test-results; \
	node --import tsx --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
	  --test-reporter=tap --test-reporter-destination=.cache/test-results/main.tap $$(find test -name '*.test.ts' | sort); status=$$?; \
	echo "== the Kafka tests again on kafkajs (FILLSTREAM_KAFKA_CLIENT=kafkajs) =="; \
	FILLSTREAM_KAFKA_CLIENT=kafkajs node --import tsx --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
	  --test-reporter=tap --test-reporter-destination=.cache/test-results/kafkajs.tap $(KAFKA_TESTS) || status=1; \
	infra/dev/test-summary.sh .cache/test-results/main.tap .cache/test-results/kafkajs.tap; \
	exit $$status

# Prints only KEY=value lines, e.g. eval "$(make -s services-up)"; services-down stops what it started.
services-up:
	@infra/dev/services.sh up

services-down:
	@infra/dev/services.sh down

# Compiled like the product (tsx would add its helpers to every hot function). The Kafka parts
# use the same services as the tests (a local broker unless KAFKA_BROKERS answers).
bench: build
	npx tsc -p tsconfig.bench.json
	export SERVICES_STATE=$(CURDIR)/.cache/services.bench.started; \
	trap 'infra/dev/services.sh down' EXIT; \
	service_env=$$(infra/dev/services.sh up) || exit $$?; \
	set -a; eval "$$service_env"; set +a; \
	node dist-bench/bench/run.js

schemas: build
	node dist/cli/main.js schemas --out schemas

typecheck: deps
	npx tsc -p tsconfig.test.json

# ESLint (type-aware: eslint.config.js), Prettier's check (.prettierrc.json), then the layer and import-cycle check.
# No ESLint cache: a cached file's result would not see type changes in the files it imports.
lint: deps
	npx eslint --max-warnings 0 src test bench
	npx prettier --check --log-level warn .
	@$(MAKE) --no-print-directory lint-cycles

# The layers of src/ and no import cycles (.dependency-cruiser.cjs).
lint-cycles: deps
	npx depcruise --config .dependency-cruiser.cjs src

# Rewrites every file Prettier covers (see .prettierignore) in the project's style.
format: deps
	npx prettier --write --log-level warn .

clean:
	rm -rf dist dist-bench .data
