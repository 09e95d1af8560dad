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
# `make ARCH=aarch64` cross-builds build/aarch64/mailgw against
# build/sysroot-aarch64 (tools/bootstrap --cross aarch64); `make ARCH=aarch64
# unit` runs the unit tests under qemu-aarch64-static.
HOST_ARCH  := $(shell uname -m)
ARCH       ?= $(HOST_ARCH)
ifeq ($(ARCH),$(HOST_ARCH))
FW_CC      := musl-gcc
FW_OBJ     := $(BUILD)/obj/fw
FW_BIN     := $(BUILD)/mailgw
FW_WEBUI   := $(BUILD)/webui.cgi
else
SYSROOT    := build/sysroot-$(ARCH)
STAMP      := $(SYSROOT)/.bootstrap-stamp
FW_CC      := $(ARCH)-linux-musl-gcc
FW_OBJ     := $(BUILD)/obj/fw-$(ARCH)
FW_BIN     := $(BUILD)/$(ARCH)/mailgw
FW_WEBUI   := $(BUILD)/$(ARCH)/webui.cgi
QEMU_USER  := qemu-$(ARCH)-static
endif
FW_CFLAGS  := $(COMMON) -Os -fstack-protector-strong -ffunction-sections \
              -fdata-sections -isystem $(SYSROOT)/include
FW_LDFLAGS := -static -s -Wl,--gc-sections -L$(SYSROOT)/lib
FW_LIBS    := -lpcre2-8 -llmdb -lbearssl -lpthread

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

.PHONY: FORCE all bootstrap test unit fuzz integration lint run stop clean distclean \
        bench image image-oci test-image test-image-container

all: $(FW_BIN) $(FW_WEBUI)

$(STAMP):
ifeq ($(ARCH),$(HOST_ARCH))
	tools/bootstrap
else
	tools/bootstrap --cross $(ARCH)
endif

bootstrap:
	tools/bootstrap

# ---- firmware ----
FW_OBJS := $(patsubst %.c,$(FW_OBJ)/%.o,$(SRCS) $(MAIN_SRC))

$(FW_OBJ)/%.o: %.c | $(STAMP)
	@mkdir -p $(@D)
	$(FW_CC) $(FW_CFLAGS) -MMD -MP -c $< -o $@

$(FW_BIN): $(FW_OBJS)
	@mkdir -p $(@D)
	$(FW_CC) $(FW_LDFLAGS) -o $@ $(FW_OBJS) $(FW_LIBS)
ifeq ($(ARCH),$(HOST_ARCH))
	@for c in $(COMMANDS); do ln -sf ../mailgw $(BUILD)/bin/$$c 2>/dev/null || \
	  { mkdir -p $(BUILD)/bin && ln -sf ../mailgw $(BUILD)/bin/$$c; }; done
endif
	@printf 'mailgw: %s bytes, %s\n' "$$(stat -c %s $@)" \
	  "$$(file -b $@ | cut -d, -f1-4)"

# The web UI's CGI: the gateway's conf/core code and webui-cgi/.
WEBUI_OBJS := $(patsubst %.c,$(FW_OBJ)/%.o,$(WEBUI_SRCS))

$(FW_WEBUI): $(WEBUI_OBJS) $(filter-out $(FW_OBJ)/$(MAIN_SRC:.c=.o),$(FW_OBJS))
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

ifeq ($(ARCH),$(HOST_ARCH))
unit: $(UNIT_BINS)
	@set -e; export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1 MAILGW_TESTDATA=$(CURDIR)/tests/unit/data; \
	fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; \
	exit $$fail
else
# Cross: the unit tests built with the cross musl gcc (static, no
# sanitizers) and run under qemu-user; LMDB without robust mutexes, which
# qemu-user lacks (FIRMWARE-NOTES.md). UNIT_SKIP_CROSS: tests that need
# what qemu-user cannot give (network namespaces of a foreign binary).
UNIT_SKIP_CROSS ?=
XT_OBJ   := $(BUILD)/obj/test-$(ARCH)
# gcc 12 at -O1 sees a false maybe-uninitialized in maincf.c x_text().
XT_CFLAGS := $(COMMON) -g -O1 -Wno-error=maybe-uninitialized -DMAILGW_TESTING \
	     -isystem $(SYSROOT)/include
XT_OBJS  := $(patsubst %.c,$(XT_OBJ)/%.o,$(SRCS) $(WEBUI_LIB))
XT_BINS  := $(filter-out $(foreach t,$(UNIT_SKIP_CROSS),%/$(t)), \
	    $(patsubst tests/unit/%.c,$(BUILD)/tests-$(ARCH)/%,$(UNIT_SRCS)))

$(XT_OBJ)/%.o: %.c | $(STAMP)
	@mkdir -p $(@D)
	$(FW_CC) $(XT_CFLAGS) -MMD -MP -c $< -o $@

$(XT_OBJ)/libmailgw.a: $(XT_OBJS)
	rm -f $@ && $(ARCH)-linux-gnu-ar rcs $@ $^

$(BUILD)/tests-$(ARCH)/%: tests/unit/%.c tests/unit/testutil.h $(XT_OBJ)/libmailgw.a
	@mkdir -p $(@D)
	$(FW_CC) $(XT_CFLAGS) -Itests/unit -static -o $@ $< $(XT_OBJ)/libmailgw.a \
	  -L$(SYSROOT)/lib/qemu-user -L$(SYSROOT)/lib -lpcre2-8 -llmdb -lbearssl \
	  -lcmocka -lpthread

unit: $(XT_BINS)
	@export MAILGW_TESTDATA=$(CURDIR)/tests/unit/data; fail=0; \
	for t in $(XT_BINS); do echo "== $$t ($(QEMU_USER))"; \
	  $(QEMU_USER) $$t || fail=1; done; exit $$fail
endif

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
# build/image/<arch>/rootfs{,.tar}: the root filesystem of one architecture;
# build/image/mailgw-rootfs-<arch>.tar.gz; build/image/oci/ and
# build/image/mailgw-oci.tar carry every arch in IMAGE_ARCHS;
# build/image/mailgw-<arch>.img: the board's disk image.
# `make test` builds and tests the x86_64 container only (seconds);
# `make test-image` builds everything and boots the boards under qemu.
IMAGE       := $(BUILD)/image
IMAGE_ARCHS ?= x86_64 aarch64
IMAGE_SKEL  := $(shell find rootfs -type f 2>/dev/null) \
	       tools/image/mkrootfs VERSION
BOARD_COMMON := board/common/init board/common/grub.cfg tools/image/mkdisk \
	        tools/image/grub-bios-embed
FW_SOURCES  := $(SRCS) $(MAIN_SRC) $(WEBUI_SRCS) $(shell find gateway \
	         webui-cgi conf-templates -name '*.h' -o -name '*.in' 2>/dev/null)

ifeq ($(ARCH),$(HOST_ARCH))
$(BUILD)/aarch64/mailgw $(BUILD)/aarch64/webui.cgi &: $(FW_SOURCES)
	@$(MAKE) --no-print-directory ARCH=aarch64 all
endif

$(IMAGE)/x86_64/rootfs.tar: $(BUILD)/mailgw $(BUILD)/webui.cgi $(IMAGE_SKEL)
	tools/image/mkrootfs x86_64 $(BUILD)/mailgw $(@D)

$(IMAGE)/aarch64/rootfs.tar: $(BUILD)/aarch64/mailgw $(BUILD)/aarch64/webui.cgi \
		$(IMAGE_SKEL)
	tools/image/mkrootfs aarch64 $(BUILD)/aarch64/mailgw $(@D)

$(IMAGE)/mailgw-rootfs-%.tar.gz: $(IMAGE)/%/rootfs.tar
	gzip -n -9 -c $< >$@.new && mv $@.new $@

# The OCI index follows IMAGE_ARCHS: .archs changes when the list does.
$(IMAGE)/.archs: FORCE
	@mkdir -p $(@D); echo '$(IMAGE_ARCHS)' | cmp -s - $@ || \
	  echo '$(IMAGE_ARCHS)' >$@

$(IMAGE)/mailgw-oci.tar: $(foreach a,$(IMAGE_ARCHS),$(IMAGE)/$(a)/rootfs.tar) \
		tools/image/mkoci $(IMAGE)/.archs
	tools/image/mkoci --out $(IMAGE)/oci --archive $@ --version $(VERSION) \
	  $(foreach a,$(IMAGE_ARCHS),$(a)=$(IMAGE)/$(a)/rootfs.tar)

$(IMAGE)/mailgw-%.img: $(IMAGE)/%/rootfs.tar board/%/board.conf $(BOARD_COMMON)
	tools/bootstrap --image
	tools/image/mkdisk $* $(IMAGE)/$*/rootfs $@

image-oci: $(IMAGE)/mailgw-oci.tar \
	   $(foreach a,$(IMAGE_ARCHS),$(IMAGE)/mailgw-rootfs-$(a).tar.gz)

image: image-oci $(foreach a,$(IMAGE_ARCHS),$(IMAGE)/mailgw-$(a).img)

# The container tests (runc in a netns of their own): part of `make test`,
# on the x86_64 image only unless the aarch64 build is there already (then
# the OCI index keeps both).
test-image-container:
	@$(MAKE) --no-print-directory image-oci \
	  $(if $(wildcard $(BUILD)/aarch64/mailgw),,IMAGE_ARCHS=x86_64)
	cd tests/image && MAILGW_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest \
	  -q -p no:cacheprovider $(PYTEST_ARGS) test_container.py

# Everything: both architectures, the unit tests under qemu-user, the
# container tests, and the boards booted under qemu-system (minutes).
test-image: image
	@$(MAKE) --no-print-directory ARCH=aarch64 unit
	cd tests/image && MAILGW_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest \
	  -q -p no:cacheprovider $(PYTEST_ARGS) .

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
