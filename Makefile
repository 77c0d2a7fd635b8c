# loyalty.platform: set-up, sandbox, tests and benchmarks.
# `make demo` and `make test` do everything on a fresh Debian machine.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

REPO := $(abspath .)
VENV := $(REPO)/.venv
BIN := $(VENV)/bin
SANDBOX := $(REPO)/.sandbox
SANITY_ROOT := $(REPO)/.sandbox/sanity
# Newest Python >= 3.12 (ansible-core 2.21); 3.11 (ansible-core 2.19) only if nothing newer exists.
PYTHON ?= $(shell tools/find-python.sh)
WITH_SANDBOX := set -a && source $(SANDBOX)/env && set +a &&
PYTEST := $(BIN)/pytest -p no:cacheprovider

.PHONY: help venv bootstrap sandbox-up sandbox-down sandbox-status lint yamllint ansible-lint sanity units \
	sandbox-tests grok-harness logging-patterns integration molecule build changelog-lint vault-check static test \
	test-sandboxed demo bench clean

help:
	@echo "make demo            set up, start the sandbox, run the playbooks against inventories/local, summarise"
	@echo "make test            the whole test suite (starts and stops the sandbox itself)"
	@echo "make sandbox-up      start PostgreSQL, moto and its AWS front, Prometheus, Alertmanager, Pushgateway and a Kubernetes control plane (kwok nodes)"
	@echo "make sandbox-down    stop them"
	@echo "make bench           run the benchmarks in bench/ (each against its own baseline)"
	@echo "make logging-patterns the log pipeline's grok, json and date chain run by a real grok engine (builds the harness)"
	@echo "make lint | sanity | units | sandbox-tests | logging-patterns | grok-harness | integration | molecule | build"

$(VENV)/.installed: requirements.txt
	@test -n "$(PYTHON)" || { echo "no Python >= 3.11 found: install python3.13 or python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

.collections/ansible_collections/loyalty/platform:
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

venv: $(VENV)/.installed .collections/ansible_collections/loyalty/platform

# System packages from bindep.txt (PostgreSQL 15, Prometheus, Alertmanager, Pushgateway, iproute2); installs only what is
# missing. Then the sandbox's Kubernetes control plane and its Prometheus 3 with promtool, built once per machine from
# the Go modules pinned in sandbox/k8s/*/go.mod and sandbox/prometheus/go.mod into ~/.cache/loyalty-platform
# (LOYALTY_PLATFORM_CACHE moves it).
bootstrap:
	@tools/bootstrap-system.sh
	@tools/build-k8s.sh > /dev/null
	@tools/build-prometheus.sh > /dev/null

sandbox-up: venv bootstrap
	$(BIN)/python sandbox/ctl.py up

sandbox-down:
	@if [ -x $(BIN)/python ]; then $(BIN)/python sandbox/ctl.py down; else echo "sandbox is not running"; fi

sandbox-status: venv
	$(BIN)/python sandbox/ctl.py status

yamllint: venv
	$(BIN)/yamllint --strict .

# ansible-lint puts $ANSIBLE_HOME/collections (~/.ansible/collections) first on the collections path: a copy of this
# collection installed there earlier would shadow the working tree, so lint runs with a home of its own.
ansible-lint: venv
	ANSIBLE_HOME=$(SANDBOX)/lint-ansible-home $(BIN)/ansible-lint --offline --profile production --strict

lint: yamllint ansible-lint

# ansible-test wants the collection at ansible_collections/<ns>/<name>: test a copy of the tracked tree there.
sanity: venv
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_ROOT)/ansible_collections/loyalty/platform
	git ls-files -co --exclude-standard -z | xargs -0 -I{} sh -c 'test -e "{}" && echo "{}"' \
		| tar -cf - -T - | tar -xf - -C $(SANITY_ROOT)/ansible_collections/loyalty/platform
	$(BIN)/python tools/get_pip_offline.py --install-cache
	# The collections we depend on sit beside ours, as ansible-test expects (they come from the `ansible` package).
	bundled=$$($(BIN)/python -c 'import ansible_collections; print(list(ansible_collections.__path__)[0])'); \
	for dep in kubernetes/core amazon/aws community/aws community/postgresql; do \
		mkdir -p $(SANITY_ROOT)/ansible_collections/$$(dirname $$dep); \
		ln -sfn $$bundled/$$dep $(SANITY_ROOT)/ansible_collections/$$dep; \
	done
	cd $(SANITY_ROOT)/ansible_collections/loyalty/platform && git init -q && \
		$(BIN)/ansible-test sanity --local --python $$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
		--color no 2>&1 | grep -v -e '^WARNING: Location' -e 'Downloading' -e '━'

units: venv
	$(PYTEST) -q tests/unit

sandbox-tests: venv
	$(PYTEST) -q tests/sandbox

# The grok test harness (tools/grok-harness): OpenSearch's grok engine runs the log pipeline's chain for tests/logging
# and bench/bench_logging.py. Maven (bindep.txt) builds it from Maven Central when the pom or a source is newer.
GROK_HARNESS_JAR := tools/grok-harness/target/grok-harness.jar
GROK_HARNESS_SRC := tools/grok-harness/pom.xml $(shell find tools/grok-harness/src -name '*.java' 2>/dev/null)

$(GROK_HARNESS_JAR): $(GROK_HARNESS_SRC)
	@command -v mvn >/dev/null 2>&1 || { echo "mvn not found: install maven and a JDK >= 17 (bindep.txt)" >&2; exit 1; }
	cd tools/grok-harness && mvn -q -B package
	touch $@

grok-harness: $(GROK_HARNESS_JAR)

# The log pipeline's patterns, proved with the real grok engine on lines rendered from the services' Logback pattern.
logging-patterns: grok-harness venv
	$(PYTEST) -q tests/logging

# Two pytest processes side by side (tools/two-lanes.sh): lane 2 runs the suites that call AWS (some count the
# requests at the sandbox's AWS front) and the disaster recovery suite; lane 1 runs all the others, which must make
# no AWS call, since they share the front. Lane 2's clients reach the Kubernetes fault proxy at a listener of its own
# (.sandbox/lane2/env), whose request counts are that lane's only. LANES=1 runs everything in one process. The
# slowest tests are named at the end of each lane, to keep the suite's time in view.
LANE2 := $(addprefix tests/integration/,test_aws_infra.py test_backup_faults.py test_backup_modules.py \
	test_ec2_vpc_flow_log.py test_eks_cluster_logging.py test_elasticache_replication_group.py test_vault_check.py \
	test_sandbox_services.py test_disaster_recovery.py)
LANES ?= 2

integration: venv
	@if [ "$(LANES)" = 1 ]; then $(WITH_SANDBOX) $(PYTEST) -q --durations=25 tests/integration; exit $$?; fi; \
	tools/two-lanes.sh integration \
		'$(WITH_SANDBOX) $(PYTEST) -q --durations=15 --basetemp=$$(mktemp -d /tmp/loyalty-it1.XXXXXX) $(addprefix --ignore=,$(LANE2)) tests/integration' \
		'$(WITH_SANDBOX) source $(SANDBOX)/lane2/env && $(PYTEST) -q --durations=15 --basetemp=$$(mktemp -d /tmp/loyalty-it2.XXXXXX) $(LANE2)'

# Every role's scenario, one after the other. Not in lanes as the integration suites are: the scenarios share the
# deployer ServiceAccount of tests/molecule/deployer.yml, which each scenario's destroy step removes.
molecule: venv
	@roles=$$(ls -d roles/*/molecule/default 2>/dev/null | cut -d/ -f2); \
	if [ -z "$$roles" ]; then echo "no role has a molecule scenario yet"; exit 0; fi; \
	for role in $$roles; do \
		echo "== molecule test: $$role"; started=$$(date +%s); \
		( $(WITH_SANDBOX) export PATH=$(BIN):$$PATH && cd roles/$$role && molecule test ) || exit 1; \
		echo "== molecule test: $$role passed in $$(( $$(date +%s) - started )) s"; \
	done

# The artifact must build, install and document every module.
build: venv
	rm -rf $(SANDBOX)/build && mkdir -p $(SANDBOX)/build
	$(BIN)/ansible-galaxy collection build --force --output-path $(SANDBOX)/build .
	$(BIN)/ansible-galaxy collection install --offline --no-deps --force -p $(SANDBOX)/build/installed $(SANDBOX)/build/loyalty-platform-*.tar.gz
	@for path in plugins/modules/*.py; do \
		[ -e "$$path" ] || continue; module=$$(basename "$$path" .py); \
		ANSIBLE_COLLECTIONS_PATH=$(SANDBOX)/build/installed $(BIN)/ansible-doc loyalty.platform.$$module > /dev/null \
			|| { echo "ansible-doc cannot render loyalty.platform.$$module" >&2; exit 1; }; \
		echo "ansible-doc renders loyalty.platform.$$module"; \
	done

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

# Every inventory's vault.yml is encrypted (tools/check-vault.sh names any that is not).
vault-check:
	tools/check-vault.sh inventories

static: lint vault-check changelog-lint sanity build

test: venv bootstrap
	$(MAKE) --no-print-directory static
	$(MAKE) --no-print-directory units sandbox-tests logging-patterns
	$(MAKE) --no-print-directory sandbox-up
	status=0; $(MAKE) --no-print-directory test-sandboxed || status=$$?; \
		$(MAKE) --no-print-directory sandbox-down; \
		if [ $$status -ne 0 ]; then echo "make test: FAILED" >&2; else echo "make test: all suites passed"; fi; exit $$status

test-sandboxed: integration molecule

demo: sandbox-up
	$(WITH_SANDBOX) $(BIN)/python tools/demo.py

bench: sandbox-up grok-harness
	$(WITH_SANDBOX) $(BIN)/python bench/run.py $(BENCH)

clean: sandbox-down
	rm -rf $(SANDBOX) .collections .pytest_cache
