# Everything a fresh machine needs: `make run` serves, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test test-fast test-postgres setup clean messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline).
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null

# Chinese, Japanese and Korean pages, as their readers see them (without it the screenshots show boxes).
$(CJK_FONT):
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq fonts-noto-cjk >/dev/null || \
	    ($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq fonts-noto-cjk >/dev/null)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/dldmatch serve

test: $(STAMP) $(CHROMIUM) $(CJK_FONT)
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not e2e" --ignore=tests/web

# The same suite on a real PostgreSQL server: Debian's, in a throwaway cluster that scripts/pg-test-server
# starts in a temporary folder (unix socket only) and removes afterwards; every test gets a database of
# its own. Installs Debian's postgresql package when its server binaries are missing. The browser, the
# end-to-end and the packaging tests run on SQLite only (`make test`).
test-postgres: $(STAMP)
	@if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; \
	fi
	bash scripts/pg-test-server $(BIN)/pytest -m "not e2e and not packaging" --ignore=tests/web

# The interface's catalogues: extract every marked string into api/locales/messages.pot and merge it
# into each language's messages.po (new strings come in empty); then lists what a translator must fill.
messages: $(STAMP)
	$(BIN)/python -m api.i18n_extract

clean:
	rm -rf $(VENV) data
