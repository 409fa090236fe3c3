.PHONY: setup setup-zh serve demo test lint bench train-tiny clean

VENV := .venv
PY := $(VENV)/bin/python
SETUP_STAMP := .setup/ready

# Every target goes through setup; scripts/setup.sh is idempotent and skips what is done.
setup:
	@bash scripts/setup.sh

setup-zh:
	@bash scripts/setup-zh.sh

serve: setup
	$(PY) -m antiphon.cli serve $(ARGS)

demo: setup
	$(PY) -m antiphon.cli demo $(ARGS)

test: setup
	$(PY) -m pytest -q -ra $(ARGS)

lint: setup
	$(VENV)/bin/ruff check antiphon tests
	$(VENV)/bin/ruff format --check antiphon tests
	$(VENV)/bin/mypy antiphon

bench: setup
	$(PY) -m antiphon.cli bench latency $(ARGS)

# The tiny end-to-end model: data -> codec -> LM -> export -> eval (<= 60 min on 2 CPU
# cores), shipped to models/tiny. Re-running skips finished stages and resumes training.
train-tiny: setup
	$(PY) -m antiphon.cli train tiny --out runs/tiny --ship models/tiny $(ARGS)

clean:
	rm -rf .setup $(VENV)
