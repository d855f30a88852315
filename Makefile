# One place for set-up: Debian packages, a virtualenv with esxnb, the simulator build.
# `make lab` starts the main job; `make test` passes the whole suite (what .ci/run calls).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
APT_PACKAGES := golang-go golang-github-vmware-govmomi-dev chromium libvirt-clients
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system-deps venv simulator lab test test-fast clean oracle

setup: system-deps venv simulator

# Installs only what is missing, so a prepared machine pays nothing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24,<26"
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

venv: $(VENV)/.installed

simulator: venv
	$(PY) -m esxnb.simulator --build-only

lab: setup
	$(VENV)/bin/esxnb lab

test: setup
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider $(PYTEST_ARGS)

# libvirt 9.0.0's own VMX code, built from the Debian source (a few minutes, cached in
# $LVBENCH_WORK): the oracle of tests/test_differential.py, which is skipped without it.
ANCHOR := ../shared/anchors/libvirt-vmx/run.sh
oracle: venv
	@[ -x $(ANCHOR) ] || { echo "$(ANCHOR) not found: check out ../shared next to this repository"; exit 1; }
	ESXNB_PYTHON=$(abspath $(PY)) PASSES=1 C_LOOPS=1 PY_LOOPS=1 REPEAT=1 $(ANCHOR)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
