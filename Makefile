# mailgw - top-level build. `make` builds build/mailgw (static, musl,
# stripped); `make test` sets up, builds and runs every suite; `make run`
# starts the demo. See README.md.

SHELL := /bin/bash
.DEFAULT_GOAL := all

BUILD   := build
SYSROOT := build/sysroot
STAMP   := $(SYSROOT)/.bootstrap-stamp
PYTHON  := /usr/bin/python3
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GITREV  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

SRCS     := $(sort $(wildcard gateway/*/*.c))
MAIN_SRC := gateway/main.c
# The web UI (webui-cgi/): main.c is the CGI; the rest is library code the
# unit tests and fuzzers link too.
WEBUI_SRCS := $(sort $(wildcard webui-cgi/*.c))
WEBUI_LIB  := $(filter-out webui-cgi/main.c,$(WEBUI_SRCS))
COMMANDS := postconf postmap postalias newaliases sendmail mailq postqueue \
	    postsuper postcat

WARN   := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
          -Wno-format-nonliteral -Wvla -Wpointer-arith -Wcast-qual -Wundef
COMMON := -std=c11 -D_GNU_SOURCE -Igateway -Iwebui-cgi $(WARN) \
          -DMAILGW_VERSION='"$(VERSION)"' -DMAILGW_GITREV='"$(GITREV)"'

# Firmware: musl, static, stripped; only what is used survives gc-sections.
FW_CC      := musl-gcc
FW_CFLAGS  := $(COMMON) -Os -fstack-protector-strong -ffunction-sections \
              -fdata-sections -isystem $(SYSROOT)/include
FW_LDFLAGS := -static -s -Wl,--gc-sections -L$(SYSROOT)/lib
FW_LIBS    := -lpcre2-8 -llmdb -lbearssl -lpthread
FW_OBJ     := $(BUILD)/obj/fw

# Host test build: gcc with AddressSanitizer and UBSan, Debian's libraries
# (the same upstream versions as the sysroot).
SAN        := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer
HOST_CC    := gcc
HOST_CFLAGS := $(COMMON) -g -O1 $(SAN) -D_FORTIFY_SOURCE=2 \
               -fstack-protector-strong -DMAILGW_TESTING
HOST_LIBS  := -lpcre2-8 -llmdb -lbearssl -lcmocka -lpthread
HOST_OBJ   := $(BUILD)/obj/host

# libFuzzer build: clang.
FUZZ_CC     := clang
FUZZ_CFLAGS := $(COMMON) -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
               -DMAILGW_TESTING -DMAILGW_FUZZING
FUZZ_OBJ    := $(BUILD)/obj/fuzz
FUZZ_TIME   ?= 5

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

.PHONY: all bootstrap test unit fuzz integration lint run stop clean distclean \
        bench image image-oci test-image test-image-container

all: $(BUILD)/mailgw $(BUILD)/webui.cgi

$(STAMP):
	tools/bootstrap

bootstrap:
	tools/bootstrap

# ---- firmware ----
FW_OBJS := $(patsubst %.c,$(FW_OBJ)/%.o,$(SRCS) $(MAIN_SRC))

$(FW_OBJ)/%.o: %.c | $(STAMP)
	@mkdir -p $(@D)
	$(FW_CC) $(FW_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/mailgw: $(FW_OBJS)
	$(FW_CC) $(FW_LDFLAGS) -o $@ $(FW_OBJS) $(FW_LIBS)
	@for c in $(COMMANDS); do ln -sf ../mailgw $(BUILD)/bin/$$c 2>/dev/null || \
	  { mkdir -p $(BUILD)/bin && ln -sf ../mailgw $(BUILD)/bin/$$c; }; done
	@printf 'mailgw: %s bytes, %s\n' "$$(stat -c %s $@)" \
	  "$$(file -b $@ | cut -d, -f1-4)"

# The web UI's CGI: the gateway's conf/core code and webui-cgi/.
WEBUI_OBJS := $(patsubst %.c,$(FW_OBJ)/%.o,$(WEBUI_SRCS))

$(BUILD)/webui.cgi: $(WEBUI_OBJS) $(filter-out $(FW_OBJ)/$(MAIN_SRC:.c=.o),$(FW_OBJS))
	$(FW_CC) $(FW_LDFLAGS) -o $@ $^ $(FW_LIBS)
	@printf 'webui.cgi: %s bytes\n' "$$(stat -c %s $@)"

# ---- host (ASan/UBSan) library for unit tests ----
HOST_OBJS := $(patsubst %.c,$(HOST_OBJ)/%.o,$(SRCS) $(WEBUI_LIB))

$(HOST_OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

$(HOST_OBJ)/libmailgw.a: $(HOST_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c tests/unit/testutil.h $(HOST_OBJ)/libmailgw.a
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) -Itests/unit -MMD -MP -o $@ $< \
	  $(HOST_OBJ)/libmailgw.a $(HOST_LIBS)

unit: $(UNIT_BINS)
	@set -e; export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1 MAILGW_TESTDATA=$(CURDIR)/tests/unit/data; \
	fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; \
	exit $$fail

# ---- libFuzzer ----
FUZZ_OBJS := $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(SRCS) $(WEBUI_LIB))

$(FUZZ_OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_OBJ)/libmailgw.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)/libmailgw.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	  $(FUZZ_OBJ)/libmailgw.a -lpcre2-8 -llmdb -lbearssl -lpthread

# Each harness: replay saved crashes, then fuzz FUZZ_TIME seconds starting
# from the committed seed corpus (new inputs go to a scratch directory).
fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); \
	  seeds=tests/fuzz/corpus/$${n#fuzz_}; scratch=$(BUILD)/fuzz/work-$$n; \
	  rm -rf $$scratch; mkdir -p $$scratch; \
	  if [ -d tests/fuzz/crashes/$${n#fuzz_} ]; then \
	    $$f -runs=0 tests/fuzz/crashes/$${n#fuzz_}/* >/dev/null 2>&1 || \
	      { echo "$$n: a saved crash input fails again"; exit 1; }; fi; \
	  echo "== $$n ($(FUZZ_TIME)s)"; \
	  $$f -max_total_time=$(FUZZ_TIME) -timeout=5 -rss_limit_mb=1024 \
	    -artifact_prefix=$(BUILD)/fuzz/$$n- $$scratch $$seeds \
	    >$(BUILD)/fuzz/$$n.log 2>&1 || \
	    { tail -40 $(BUILD)/fuzz/$$n.log; exit 1; }; \
	  tail -1 $(BUILD)/fuzz/$$n.log; done

# ---- integration (pytest against the real binary) ----
integration: $(BUILD)/mailgw
	cd tests/integration && MAILGW_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) .

# ---- source checks ----
lint:
	@! grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok)[[:space:]]*\(' \
	  $(SRCS) $(MAIN_SRC) $(WEBUI_SRCS) || { echo "lint: banned function (STYLE.md rule 6)"; exit 1; }
	@echo "lint: no banned functions"

test:
	tools/bootstrap
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory test-image-container
	@$(MAKE) --no-print-directory bench-smoke

# ---- benchmark against Postfix (tools/bench, docs/BENCH.md) ----
# `bench` is the full run (minutes; never part of `test`); `bench-smoke`
# keeps the harness working (fails only if the harness breaks, not on speed).
.PHONY: bench-smoke
BENCH_ARGS ?=
bench: $(BUILD)/mailgw
	$(PYTHON) tools/bench/bench.py --mailgw $(BUILD)/mailgw \
	  --out $(BUILD)/bench $(BENCH_ARGS)

bench-smoke: $(BUILD)/mailgw
	$(PYTHON) tools/bench/bench.py --smoke --mailgw $(BUILD)/mailgw \
	  --out $(BUILD)/bench-smoke $(BENCH_ARGS)

# ---- appliance image (rootfs/, board/, tools/image; see board/README.md) ----
# build/image/<arch>/rootfs.tar: the root filesystem of one architecture;
# build/image/mailgw-rootfs-<arch>.tar.gz; build/image/oci/ and
# build/image/mailgw-oci.tar carry every arch in IMAGE_ARCHS.
IMAGE       := $(BUILD)/image
IMAGE_ARCHS ?= x86_64
IMAGE_SKEL  := $(shell find rootfs -type f -o -type l 2>/dev/null) \
	       tools/image/mkrootfs VERSION

$(IMAGE)/x86_64/rootfs.tar: $(BUILD)/mailgw $(IMAGE_SKEL)
	tools/image/mkrootfs x86_64 $(BUILD)/mailgw $(@D)

$(IMAGE)/mailgw-rootfs-%.tar.gz: $(IMAGE)/%/rootfs.tar
	gzip -n -9 -c $< >$@.new && mv $@.new $@

$(IMAGE)/mailgw-oci.tar: $(foreach a,$(IMAGE_ARCHS),$(IMAGE)/$(a)/rootfs.tar) \
		tools/image/mkoci
	tools/image/mkoci --out $(IMAGE)/oci --archive $@ --version $(VERSION) \
	  $(foreach a,$(IMAGE_ARCHS),$(a)=$(IMAGE)/$(a)/rootfs.tar)

image-oci: $(IMAGE)/mailgw-oci.tar \
	   $(foreach a,$(IMAGE_ARCHS),$(IMAGE)/mailgw-rootfs-$(a).tar.gz)

image: image-oci

# The container tests (runc in a netns of their own): part of `make test`.
test-image-container: image-oci
	cd tests/image && MAILGW_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest \
	  -q -p no:cacheprovider $(PYTEST_ARGS) test_container.py

run:
	tools/bootstrap
	@$(MAKE) --no-print-directory all
	tools/demo

stop:
	@tools/demo stop

clean:
	rm -rf $(BUILD)/obj $(BUILD)/tests $(BUILD)/fuzz $(BUILD)/bin \
	  $(BUILD)/mailgw run

distclean: clean
	rm -rf $(BUILD)

# The templates are built into gateway/conf/templates.c (.incbin).
TEMPLATES := conf-templates/main.cf.in conf-templates/master.cf.in
$(FW_OBJ)/gateway/conf/templates.o $(HOST_OBJ)/gateway/conf/templates.o \
$(FUZZ_OBJ)/gateway/conf/templates.o: $(TEMPLATES)

-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)
