# libccai: a thin wrapper around meson for the README's commands.
#
#   make run            install missing Debian packages (as root), build in
#                       build/, show the status, then talk to the bot
#                       (ccai-cli chat: you are the caller)
#   make test           build with warnings as errors, run the whole suite
#   make test-sanitize  the same in build-san/ with ASan + UBSan (build-dev.ini), but the
#                       media suites run twice (suite slow-twin: tests/meson.build)
#   make fuzz           libFuzzer targets in build-fuzz/ (clang), FUZZ_TIME s each
#   make deps           install missing Debian packages (build, test)
#   make dev-deps       also clang, libFuzzer, clang-format, clang-tidy, shellcheck
#   make format         clang-format -i the C sources
#   make format-check   fail when a C source is not formatted
#   make lint           shellcheck the shell scripts
#   make tidy           clang-tidy the library sources (advisory)
#   make install        meson install from build/ (DESTDIR honoured)
#   make clean          remove the build directories
#
# Variables: BUILDDIR, SANDIR, FUZZDIR, MESON_ARGS (extra setup options),
# ARGS (arguments for ccai-cli in `make run`), FUZZ_TIME, FUZZ_TARGETS, FUZZ_CC.

MESON ?= meson
BUILDDIR ?= build
SANDIR ?= build-san
FUZZDIR ?= build-fuzz
MESON_ARGS ?=
# The chat's language in `make run`: empty follows the user's locale
# (scripts/run-lang.sh: LC_ALL/LC_MESSAGES/LANG as a configured language,
# else en-US); the service's own default stays the configuration's (fr-FR).
LANG_CODE ?=
ARGS ?=
FUZZ_TIME ?= 30
FUZZ_TARGETS ?= config claim sse chunk template phrases offline offline-lex offline-extract form acs-sig acs-events hostport httpd ratelimit log-mask \
	wav media-frames pron-dict speech-slots tts-text wavstream tts-errors \
	ws-response ws-frames stt-deepgram stt-openai-realtime stt-openai stt-azure cli-wav \
	audiosocket voice-audio twilio-stream sip-rtp guard acs-stream docs-chunk embed-reply flags \
	pg-json import entra-reply ivr pg-tsquery
FUZZ_CC ?= clang
PYTHON ?= python3

# Debian 12 packages: what builds and tests libccai ...
DEPS := make meson ninja-build pkg-config gcc g++ libc6-dev binutils file python3 \
	libcurl4-openssl-dev libjansson-dev libyaml-dev libsqlite3-dev libevent-dev \
	libssl-dev libcmocka-dev sqlite3 libhttp-parser-dev libspeexdsp-dev espeak-ng sox \
	libwslay-dev libpocketsphinx-dev libsphinxbase-dev pocketsphinx pocketsphinx-en-us flite1-dev \
	libre-dev baresip-core openssl libhiredis-dev redis-server systemd libpq-dev postgresql
# ... and what the developer checks need (fuzzing, formatting, linting).
DEV_DEPS := clang llvm lld libclang-rt-14-dev clang-format clang-tidy shellcheck

# C sources to format: ours, not subprojects' or build directories'.
SRC_DIRS := include libccai ccai-cli ccai-server examples tests bench
C_SOURCES = $(shell find $(SRC_DIRS) \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) \
	-type f 2>/dev/null | LC_ALL=C sort)
SHELL_SCRIPTS := .ci/run scripts/fuzz-run.sh scripts/run-lang.sh scripts/stage.sh tests/integration/test_stage.sh tests/integration/examples.sh tests/integration/symbols.sh \
	tests/integration/globals.sh \
	tests/integration/test_cli_client.sh tests/integration/test_reference_config.sh tests/integration/test_cli_voice.sh \
	tests/integration/test_ops.sh tests/integration/systemd_unit.sh tests/browser/run.sh tests/openapi/run.sh \
	tests/media/gen_speech.sh tests/standins/run.sh

SUMMARY = $(PYTHON) .ci/test-summary

.PHONY: all run build test test-sanitize fuzz deps dev-deps format format-check lint tidy \
	install clean

all: build

# install_missing PACKAGES: apt-get install those not installed yet; only as
# root, only on a system with dpkg. Prints what it does.
define install_missing
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
		echo "deps: no dpkg here; install by hand: $(1)"; \
		exit 0; \
	fi; \
	missing=""; \
	for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then \
		echo "deps: all $(words $(1)) Debian packages are installed"; \
	elif [ "$$(id -u)" -ne 0 ]; then \
		echo "deps: missing Debian packages:$$missing"; \
		echo "deps: not root, not installing; run: sudo apt-get install$$missing"; \
	else \
		echo "deps: installing:$$missing"; \
		echo "+ apt-get update"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq || exit 1; \
		echo "+ apt-get install -y --no-install-recommends$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$$missing </dev/null || exit 1; \
	fi
endef

deps:
	$(call install_missing,$(DEPS))

dev-deps:
	$(call install_missing,$(DEPS) $(DEV_DEPS))

# Configure once (warnings are errors), then let ninja decide what to rebuild.
$(BUILDDIR)/build.ninja: | deps
	$(MESON) setup $(BUILDDIR) -Dwerror=true $(MESON_ARGS)

build: $(BUILDDIR)/build.ninja
	$(MESON) compile -C $(BUILDDIR)

run: build
	@cli=$(BUILDDIR)/ccai-cli/ccai-cli; \
	if [ -n "$(ARGS)" ]; then echo "+ $$cli $(ARGS)"; exec $$cli $(ARGS); fi; \
	echo "+ $$cli"; $$cli || exit $$?; \
	lang="$(LANG_CODE)"; [ -n "$$lang" ] || lang=$$(scripts/run-lang.sh $$cli); \
	echo; echo "+ $$cli chat --lang $$lang   (you are the caller; /quit hangs up)"; \
	exec $$cli chat --lang "$$lang"

# meson test's own exit status decides; the closing line counts the tests.
test: build
	@rm -f $(BUILDDIR)/meson-logs/testlog.json
	@rc=0; $(MESON) test -C $(BUILDDIR) --print-errorlogs || rc=$$?; \
		$(SUMMARY) $(BUILDDIR)/meson-logs/testlog.json; exit $$rc

$(SANDIR)/build.ninja: | deps
	$(MESON) setup $(SANDIR) --native-file build-dev.ini $(MESON_ARGS)

test-sanitize: $(SANDIR)/build.ninja
	$(MESON) compile -C $(SANDIR)
	@rm -f $(SANDIR)/meson-logs/testlog.json
	@rc=0; $(MESON) test -C $(SANDIR) --print-errorlogs --timeout-multiplier 3 --no-suite slow-twin || rc=$$?; \
		$(SUMMARY) $(SANDIR)/meson-logs/testlog.json; exit $$rc

# -Dfuzz=true compiles the library with coverage and sanitizers
# (fuzzer-no-link); the targets link libFuzzer. Only the targets are built.
$(FUZZDIR)/build.ninja: | deps
	CC=$(FUZZ_CC) $(MESON) setup $(FUZZDIR) -Dfuzz=true -Dtools=false -Dbench=false \
		-Dbuildtype=debugoptimized -Db_lundef=false $(MESON_ARGS)

fuzz: $(FUZZDIR)/build.ninja
	ninja -C $(FUZZDIR) $(foreach t,$(FUZZ_TARGETS),tests/fuzz/fuzz-$(t))
	scripts/fuzz-run.sh $(FUZZDIR) $(FUZZ_TIME) $(FUZZ_TARGETS)

format:
	clang-format -i $(C_SOURCES)

format-check:
	@bad=""; \
	for f in $(C_SOURCES); do \
		clang-format --dry-run --Werror "$$f" >/dev/null 2>&1 || bad="$$bad $$f"; \
	done; \
	if [ -n "$$bad" ]; then \
		echo "format: not clang-formatted ('make format' fixes them):"; \
		for f in $$bad; do echo "    $$f"; done; \
		clang-format --dry-run --Werror $$bad 2>&1 | head -n 30; \
		exit 1; \
	fi; \
	echo "format: $(words $(C_SOURCES)) C sources are formatted"

lint:
	shellcheck $(SHELL_SCRIPTS)

tidy: build
	clang-tidy -p $(BUILDDIR) --quiet $(filter libccai/%.c,$(C_SOURCES))

install: build
	$(MESON) install -C $(BUILDDIR) --no-rebuild

clean:
	rm -rf $(BUILDDIR) $(SANDIR) $(FUZZDIR)
