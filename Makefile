# sdr2log: the two commands the README documents.
#   make demo   install into .venv/ and run the demo (writes demo_out/)
#   make test   install into .venv/ and run every check and test (what CI runs)
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test bench figures clean-venv

$(STAMP): settings.ini setup.py
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/sdr2log demo --out demo_out

test: install
	bash tools/install_browser.sh
	bash tools/check.sh

bench: install
	$(BIN)/python bench/bench_color.py
	$(BIN)/python bench/bench_lut.py
	$(BIN)/python bench/bench_io.py
	$(BIN)/python bench/bench_data.py
	$(BIN)/python bench/bench_train.py
	$(BIN)/python bench/bench_viewer.py
	$(BIN)/python bench/bench_diffhdrtv.py

clean-venv:
	rm -rf $(VENV)

# The documentation pictures under nbs/images/: rewritten only here, never by a test run.
FIGURE_NBS := 02a_video_io 12_evaluate 13_viewer 15_video 16_reconstruct
figures: install
	$(BIN)/python tools/figures.py
	$(BIN)/python tools/metrics_figures.py
	cd nbs && for nb in $(FIGURE_NBS); do SDR2LOG_WRITE_IMAGES=1 MPLBACKEND=Agg ../$(BIN)/nbdev_test --path $$nb.ipynb || exit 1; done
