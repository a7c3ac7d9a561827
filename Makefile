# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck clean bytecode bench vendor-bpmn-js vendor-govuk-frontend

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(MAKE) bytecode
	touch $(STAMP)

# The project's own bytecode, compiled ahead: the editable install leaves none, and with
# PYTHONDONTWRITEBYTECODE set (as here, and in the Dockerfile) Python would compile every module
# from source at each import, the workflow sandbox's re-import of each case's workflow module
# included. Only changed files are compiled again.
bytecode:
	$(BIN)/python -m compileall -q -j 0 -x '/(\.venv|\.git|node_modules|build|var)/' .

run: $(STAMP) bytecode
	$(BIN)/icpc dev

# The product beside a bare workflow of the same shape on one dev server (benchmarks/side_by_side.py);
# BENCH_ARGS=--quick for the smoke run.
bench: $(STAMP) bytecode
	$(BIN)/python benchmarks/side_by_side.py $(BENCH_ARGS)

test: $(STAMP) bytecode
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy domain contracts procedures workflows activities workers starters web records simulation runtime
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV)

# bpmn-js's viewer for the procedure pages, vendored under web/static/vendor/bpmn-js/ (committed:
# a clone runs without Node.js). Refresh it from the npm registry with npm: make vendor-bpmn-js
BPMN_JS_VERSION := 18.31.1
BPMN_JS_DIR := web/static/vendor/bpmn-js
vendor-bpmn-js:
	rm -rf build/bpmn-js && mkdir -p build/bpmn-js
	cd build/bpmn-js && npm pack --silent bpmn-js@$(BPMN_JS_VERSION) >/dev/null && tar xzf bpmn-js-$(BPMN_JS_VERSION).tgz
	cp build/bpmn-js/package/dist/bpmn-navigated-viewer.production.min.js \
	   build/bpmn-js/package/dist/assets/diagram-js.css build/bpmn-js/package/dist/assets/bpmn-js.css \
	   build/bpmn-js/package/LICENSE $(BPMN_JS_DIR)/
	echo $(BPMN_JS_VERSION) > $(BPMN_JS_DIR)/VERSION
	rm -rf build/bpmn-js

# GOV.UK Frontend for the web form, vendored under web/static/vendor/govuk-frontend/ (committed: a
# clone runs without Node.js). Its Sass is compiled with the settings of a service outside GOV.UK
# (system fonts, no GDS Transport: web/static/govuk-frontend.scss). Refresh with npm:
# make vendor-govuk-frontend. Keep govuk-frontend-jinja in pyproject.toml at the release that
# matches this version (4.1.0 for 6.3.0).
GOVUK_FRONTEND_VERSION := 6.3.0
SASS_VERSION := 1.108.2
GOVUK_FRONTEND_DIR := web/static/vendor/govuk-frontend
vendor-govuk-frontend:
	rm -rf build/govuk-frontend && mkdir -p build/govuk-frontend
	npm install --silent --no-audit --no-fund --prefix build/govuk-frontend \
	    govuk-frontend@$(GOVUK_FRONTEND_VERSION) sass@$(SASS_VERSION)
	build/govuk-frontend/node_modules/.bin/sass --no-source-map --style=compressed --quiet-deps \
	    --load-path=build/govuk-frontend/node_modules \
	    web/static/govuk-frontend.scss $(GOVUK_FRONTEND_DIR)/govuk-frontend.min.css
	cp build/govuk-frontend/node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js $(GOVUK_FRONTEND_DIR)/
	echo $(GOVUK_FRONTEND_VERSION) > $(GOVUK_FRONTEND_DIR)/VERSION
	rm -rf build/govuk-frontend
