# The two commands: `make run` (set up and start everything on embedded defaults) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)

.PHONY: run test lint install migrate scheduler bench clean check-content create-admin chat show-config shell

$(STAMP): requirements.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found: install it (python3.11) first"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)  ## create .venv and install the pinned requirements

run: install  ## migrate, then serve webhook + emulator chat page + scheduler on 127.0.0.1:$PORT (default 5000)
	BOT_ENV=$${BOT_ENV:-development} $(BIN)/python -m bot migrate
	BOT_ENV=$${BOT_ENV:-development} $(BIN)/python -m bot import-samples  # the sample tree, only while none exists
	BOT_ENV=$${BOT_ENV:-development} $(BIN)/python -m bot serve

test: install  ## the whole suite (embedded Redis + SQLite unless REDIS_URL / DATABASE_URL are set)
	$(BIN)/python -m pytest -q --durations=15

lint: install  ## ruff (lint, format), import-linter's contracts and mypy on the core layers, all in pyproject.toml (CI runs this)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

check-content: install  ## validate content/ (CI runs this); names file, line and id of every problem
	BOT_ENV=$${BOT_ENV:-development} $(BIN)/python -m bot check-content

migrate: install
	BOT_ENV=$${BOT_ENV:-development} $(BIN)/python -m bot migrate

scheduler: install  ## the scheduler on its own (production runs exactly one)
	BOT_ENV=$${BOT_ENV:-development} $(BIN)/python -m bot scheduler

# Everyday commands with the development settings `make run` uses (BOT_ENV=development unless set; a plain
# `python -m bot ...` is production and stops at the first missing secret).
ADMIN ?= admin
create-admin: migrate  ## a console admin: make create-admin ADMIN=wang (prompts for the password; ARGS=--reset)
	BOT_ENV=$${BOT_ENV:-development} $(BIN)/python -m bot create-admin --username "$(ADMIN)" $(ARGS)

chat: install  ## chat with the running `make run` from the terminal (ARGS="--user OPENID" to be someone)
	BOT_ENV=$${BOT_ENV:-development} $(BIN)/python -m bot chat $(ARGS)

show-config: install  ## print the effective settings (credentials masked)
	@BOT_ENV=$${BOT_ENV:-development} $(BIN)/python -m bot show-config

shell: install  ## a Python shell with the app (services() etc.) under the development settings
	BOT_ENV=$${BOT_ENV:-development} $(BIN)/python -m bot shell

bench: install  ## benchmarks in bench/ (print their figures and the baseline)
	$(BIN)/python bench/webhook.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/quiz.py
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/tickets_chat.py
	$(BIN)/python bench/tickets_pages.py
	$(BIN)/python bench/org_import.py

clean:
	rm -rf $(VENV) var .pytest_cache
