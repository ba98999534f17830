# Sotong — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv/bin

.PHONY: help setup run test test-clock lint train bench nlu-report clean

# scripts/run-tests.sh: the unit tests on every core, then the integration, fault,
# browser and scale tests one at a time with the shifted-clock pass (below) beside them
# at the lowest CPU priority. PYTEST_ARGS (options such as -k or -x) go to both runs.
#
# No test may depend on the day or hour it runs (a fixed date once went off on 2026-12-01).
# `make test` runs the unit tests a second time with the wall clock moved to an instant
# that is the opposite of a working day on every count: a Sunday, half past midnight in
# Seoul (before 9 am reminders and every opening hour; still Saturday in UTC), New Year's
# Day in Seoul but not in UTC, years ahead of every date written in a test.
CLOCK_CHECK_AT := 2034-01-01 00:30 KST
# `make test-clock` runs the whole suite at each of these instead (about 40 minutes).
CLOCK_INSTANTS := "2027-03-01 00:30 KST" "2027-03-01 08:59 KST" "2027-02-28 18:01 KST" "2030-01-01 00:00 KST"

help:
	@echo "make run    set up what is missing, train the model if its data changed, start everything"
	@echo "make test   set up what is missing, run every test"
	@echo "make test-clock  the whole suite at four shifted wall-clock instants"
	@echo "make lint   ruff and mypy"
	@echo "make bench  benchmarks (bench/), printing figures"
	@echo "make nlu-report  service-identification accuracy and Rasa cross-validation"

setup:
	@bash scripts/setup.sh

run: setup
	@$(VENV)/sotong run

test: setup
	@bash scripts/setup-tools.sh
	@$(VENV)/ruff check .
	@$(VENV)/mypy
	@CLOCK_CHECK_AT="$(CLOCK_CHECK_AT)" PYTEST_ARGS="$(PYTEST_ARGS)" scripts/run-tests.sh

test-clock: setup
	@for instant in $(CLOCK_INSTANTS); do \
		scripts/shifted-clock.sh "$$instant" $(VENV)/python -m pytest -q -ra -p no:cacheprovider $(PYTEST_ARGS) || exit 1; \
	done

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
	@$(VENV)/python bench/scale.py
	@$(VENV)/python bench/long_conversation.py
	@$(VENV)/python bench/nlu_pipelines.py

# Service-identification accuracy on the held-out evaluation and test sets, and Rasa's
# own 3-fold cross-validation of intent classification (it trains three models).
nlu-report: setup
	@$(VENV)/sotong nlu evaluate
	@$(VENV)/sotong nlu evaluate --test-set
	@mkdir -p var/reports
	@set -o pipefail; cd nlu && RASA_TELEMETRY_ENABLED=false ../.venv-rasa/bin/rasa test nlu \
		--cross-validation --folds 3 --config config.yml --domain domain --nlu data \
		--out ../var/reports/nlu-cv 2>&1 | tee ../var/reports/nlu-cv.log \
		| grep -E "(train|test) (Accuracy|F1-score|Precision):"
	@echo "cross-validation: var/reports/nlu-cv.log and var/reports/nlu-cv/"

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
