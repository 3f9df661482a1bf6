# Taxon developer commands. `make run` and `make test` do all the set-up themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
REQ_HASH := $(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
DEPS_STAMP := $(STAMPS)/deps-$(REQ_HASH)
PO_FILES := $(wildcard translations/*/LC_MESSAGES/taxon.po)
MO_FILES := $(PO_FILES:.po=.mo)
# The built-in model's ImageNet class names: their own domain (tools/imagenet_catalogs.py).
IMAGENET_MO := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/imagenet.po))
PYBABEL := $(VENV)/bin/pybabel
KEYWORDS := -k _ -k N_ -k Nn_:1,2 -k ngettext:1,2 -k pgettext:1c,2
BUILD_STAMP := $(STAMPS)/build-$(shell sha256sum packaging/requirements-build.txt | cut -c1-16)
# fast: gzip -1 tarball, zstd -1 .deb (minutes); best: gzip -9, xz -6 (releases: ~45 min on
# two cores). See docs/packaging.md.
PACKAGE_COMPRESSION ?= fast
# Which Linux downloads `make package` builds: tar, deb or both.
PACKAGE_FORMATS ?= tar deb

.PHONY: run test translations bench lint screenshots setup catalogs check-catalogs new-language \
	package package-test clean gpu-check

setup: $(DEPS_STAMP) catalogs

$(DEPS_STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt -r requirements-dev.txt
	@mkdir -p $(STAMPS) && rm -f $(STAMPS)/deps-* && touch $@

catalogs: $(MO_FILES) $(IMAGENET_MO)

translations/%/LC_MESSAGES/taxon.mo: translations/%/LC_MESSAGES/taxon.po | $(DEPS_STAMP)
	$(PYBABEL) -q compile -d translations -D taxon -l $* --statistics >/dev/null

translations/%/LC_MESSAGES/imagenet.mo: translations/%/LC_MESSAGES/imagenet.po | $(DEPS_STAMP)
	$(PYBABEL) -q compile -d translations -D imagenet -l $* >/dev/null

run: setup
	$(PY) main.py

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

EXTRACT = $(PYBABEL) -q extract -F babel.cfg $(KEYWORDS) --no-default-keywords \
	--add-comments=Translators: --add-location=file --sort-by-file --project=Taxon \
	--version=$$($(PY) -c 'import engine; print(engine.__version__)') --copyright-holder=Taxon
UPDATE = $(PYBABEL) -q update -d translations -D taxon --ignore-pot-creation-date --no-fuzzy-matching

translations: $(DEPS_STAMP)
	$(EXTRACT) -o translations/taxon.pot .
	$(UPDATE) -i translations/taxon.pot
	$(PYBABEL) compile -d translations -D taxon --statistics

bench: setup
	$(PY) bench/startup.py
	@for script in bench/*.py; do [ "$$script" = bench/startup.py ] || $(PY) $$script || exit 1; done

# Start a catalog for a new language, e.g. `make new-language LANG=de`.
new-language: $(DEPS_STAMP)
	$(EXTRACT) -o translations/taxon.pot .
	$(PYBABEL) init -i translations/taxon.pot -d translations -D taxon -l $(LANG)

# Fails when the catalogs are stale against the source (used by the test suite).
check-catalogs:
	@pot=$$(mktemp --suffix=.pot) && $(EXTRACT) -o $$pot . && $(UPDATE) --check -i $$pot; \
		status=$$?; rm -f $$pot; exit $$status

screenshots: setup
	QT_QPA_PLATFORM=offscreen $(PY) tools/screenshots.py

# Installers (docs/packaging.md). Linux: dist/Taxon (the bundle), dist/taxon-<version>-linux-
# <machine>.tar.gz and dist/taxon_<version>_<arch>.deb. TAXON_DEBUG_BUILD=1 for a debug bundle.
$(BUILD_STAMP): packaging/requirements-build.txt | $(DEPS_STAMP)
	$(PY) -m pip install --disable-pip-version-check -q -r packaging/requirements-build.txt
	@mkdir -p $(STAMPS) && rm -f $(STAMPS)/build-* && touch $@

package: setup $(BUILD_STAMP)
	$(PY) -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
		packaging/taxon.spec
	packaging/linux/build_packages.sh dist/Taxon dist "$$($(PY) packaging/taxon_bundle.py version)" \
		$(PACKAGE_COMPRESSION) "$(PACKAGE_FORMATS)"

# Installs the built .deb (as root), runs its self-test and window, and removes it again.
package-test: setup
	TAXON_PACKAGE_TEST=1 QT_QPA_PLATFORM=offscreen $(PY) -m pytest tests/packaging

clean:
	rm -rf build dist

# GPU proof on a machine with an NVIDIA card (docs/performance.md, "GPU proof"): one line per
# check and a JSON summary, under eight minutes. GPU_CHECK_ARGS e.g. --json-out gpu.json.
gpu-check: setup
	$(PY) bench/gpu.py $(GPU_CHECK_ARGS)
