# Sotong — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv/bin

.PHONY: help setup run test lint train bench nlu-report clean

help:
	@echo "make run    set up what is missing, train the model if its data changed, start everything"
	@echo "make test   set up what is missing, run every test"
	@echo "make lint   ruff and mypy"
	@echo "make bench  benchmarks (bench/), printing figures"
	@echo "make nlu-report  service-identification accuracy and Rasa cross-validation"

setup:
	@bash scripts/setup.sh

run: setup
	@$(VENV)/sotong run

test: setup
	@$(VENV)/ruff check .
	@$(VENV)/mypy
	@$(VENV)/python -m pytest -ra $(PYTEST_ARGS)

lint: setup
	@$(VENV)/ruff check .
	@$(VENV)/ruff format --check .
	@$(VENV)/mypy

train: setup
	@$(VENV)/sotong train

bench: setup
	@$(VENV)/python bench/text_turns.py
	@$(VENV)/python bench/sms_webhook.py
	@$(VENV)/python bench/voice_calls.py

# Service-identification accuracy on the held-out set, and Rasa's own 3-fold
# cross-validation of intent classification (several minutes: trains three models).
nlu-report: setup
	@$(VENV)/sotong nlu evaluate
	@mkdir -p var/reports
	@set -o pipefail; cd nlu && RASA_TELEMETRY_ENABLED=false ../.venv-rasa/bin/rasa test nlu \
		--cross-validation --folds 3 --config config.yml --domain domain --nlu data \
		--out ../var/reports/nlu-cv 2>&1 | tee ../var/reports/nlu-cv.log \
		| grep -E "(train|test) (Accuracy|F1-score|Precision):"
	@echo "cross-validation: var/reports/nlu-cv.log and var/reports/nlu-cv/"

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
