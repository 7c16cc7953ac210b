# evbench — build, test, benchmark.
#
#   make                 build every binary into bin/ (installs missing Debian packages as root)
#   make test            build and run the whole test suite (tests/run.sh), with
#                        evbase's thread tests under ThreadSanitizer (make tsan-threads)
#   make bench           every server at 100, 1,000 and 10,000 connections, results and plots
#   make plots           redraw the plots of results/latest
#   make install         PREFIX=/usr/local DESTDIR= (binaries, man pages, bash completion)
#   make SANITIZER=address,undefined test    the same suite, instrumented, in build-<san>/
#   make tsan-check      the threaded programs under ThreadSanitizer, under load
#   make fuzz            each libFuzzer target for FUZZ_SECONDS (default 60), clang
#   make fresh-check     make test, then make bench, in a minimal Debian root made by
#                        mmdebstrap from a clean clone of HEAD (root; scripts/fresh_root.sh)
#   make V=1             show the commands
#   make bench-dispatch, bench-dispatch-ir, bench-dispatch-uring
#                        evbase against libevent: times, instructions per event,
#                        io_uring against epoll interleaved (docs/evbase.md)
#
# CC, CFLAGS, CPPFLAGS and LDFLAGS are yours to override; the flags the project
# needs are kept apart from them so that an override does not lose them.

CC       ?= cc
CFLAGS   ?= -O2 -g
PREFIX   ?= /usr/local
BINDIR_I  = $(DESTDIR)$(PREFIX)/bin
SHAREDIR  = $(DESTDIR)$(PREFIX)/share/evbench
MANDIR_I  = $(DESTDIR)$(PREFIX)/share/man/man1
COMPDIR_I = $(DESTDIR)$(PREFIX)/share/bash-completion/completions

# `make` builds everything: the per-design rules made by $(eval) below come
# before `all` in the file, and would otherwise be the default.
.DEFAULT_GOAL := all

comma := ,
ifeq ($(SANITIZER),)
BUILD := build
BIN   := bin
SANFLAGS :=
else
# An instrumented build lives beside the plain one, never mixed with it.
BUILD := build-$(subst $(comma),-,$(SANITIZER))
BIN   := $(BUILD)/bin
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
EV_CFLAGS = -std=gnu11 -pthread $(WARN) $(SANFLAGS)
EV_CPPFLAGS = -D_GNU_SOURCE
# Include paths by layer (STYLE, "Layers the compiler enforces"): each folder
# sees itself and the layers below it, so an include of a layer above fails to
# build. common/ <- servers/, loadgen/ <- bench/ <- tests/ (docs/architecture.md).
INC_common  := -Icommon
INC_servers := -Icommon -Iservers
INC_loadgen := -Icommon -Iloadgen
BENCH_ROOMS := cli sweep compare gate report lesson agents
INC_bench   := -Icommon -Iloadgen -Ibench $(BENCH_ROOMS:%=-Ibench/%)
INC_tests   := -Icommon -Iservers -Iloadgen -Ibench $(BENCH_ROOMS:%=-Ibench/%)
EV_LDFLAGS  = -pthread $(SANFLAGS)

# Recursive (=) on purpose: pkg-config is asked when a recipe runs, after the
# deps-* targets below have had their chance to install it.
LIBEVENT_CFLAGS = $(shell pkg-config --cflags libevent_core)
LIBEVENT_LIBS   = $(shell pkg-config --libs libevent_core)
# The libevent side of the thread tests: evthread_use_pthreads() lives there.
LIBEVENT_PTHREADS_LIBS = $(shell pkg-config --libs libevent_pthreads)
LIBUV_CFLAGS = $(shell pkg-config --cflags libuv)
LIBUV_LIBS   = $(shell pkg-config --libs libuv)
CRITERION_CFLAGS = $(shell pkg-config --cflags criterion)
CRITERION_LIBS   = $(shell pkg-config --libs criterion)

ifeq ($(V),1)
Q :=
else
Q := @
endif
msg = $(if $(Q),@printf '  %-7s %s\n' '$(1)' '$(2)';)

# ---- what there is to build ------------------------------------------------

EVBASE_SRC := $(wildcard evbase/src/*.c)
EVBASE_LIB := $(BUILD)/libevbase.a
EVBASE_INC := -Ievbase/include
# What a program linked with libevbase.a needs besides: the io_uring backend.
EVBASE_LIBS := -luring
# What every server shares but its multiplexing (servers/srv.h): the command
# line and start, accept within the descriptor limits, the connection and its
# framing, the stop report.
SRV_SRC := $(wildcard servers/srv_*.c)
SRV_LIB := $(BUILD)/libsrv.a

# What bench/, loadgen/ and the tests share (common/): the design table, the
# server counters, JSON written and read, /proc.
COMMON_SRC := $(wildcard common/*.c)
COMMON_LIB := $(BUILD)/libcommon.a

# A server: bin/rot13-NAME from SOURCE, compiled with CPPFLAGS, linked with
# LIBS (archives built here, or -l flags).
#   $(eval $(call server,NAME,SOURCE[,CPPFLAGS[,LIBS]]))
define server
SRV_BINS += $(BIN)/rot13-$(1)
$(BUILD)/servers/rot13-$(1).o: $(2) | deps-build
	@mkdir -p $$(@D)
	$$(call msg,CC,$$< [$(1)])
	$$(Q)$$(CC) $(3) $$(EV_CPPFLAGS) $$(CPPFLAGS) $$(EV_CFLAGS) $$(CFLAGS) -MMD -MP -c -o $$@ $$<
$(BIN)/rot13-$(1): $(BUILD)/servers/rot13-$(1).o $(SRV_LIB) $(COMMON_LIB) $(filter %.a,$(4))
	@mkdir -p $$(@D)
	$$(call msg,LD,$$@)
	$$(Q)$$(CC) $$(EV_LDFLAGS) $$(LDFLAGS) -o $$@ $$(filter %.o %.a,$$^) $(filter-out %.a,$(4))
endef

# One line per design (docs/designs.md, "Adding a design"); its row in
# common/designs.h gives evbench and the tests the rest.
$(eval $(call server,fork,servers/rot13_fork.c))
$(eval $(call server,threads,servers/rot13_threads.c))
$(eval $(call server,select,servers/rot13_select.c))
$(eval $(call server,poll,servers/rot13_poll.c))
$(eval $(call server,epoll-lt,servers/rot13_epoll_lt.c))
$(eval $(call server,epoll-et,servers/rot13_epoll_et.c))
$(eval $(call server,uring,servers/rot13_uring.c,,-luring))
$(eval $(call server,epoll-mt,servers/rot13_epoll_mt.c))
$(eval $(call server,libevent,servers/rot13_libevent.c,$$(LIBEVENT_CFLAGS),$$(LIBEVENT_LIBS)))
$(eval $(call server,libuv,servers/rot13_libuv.c,$$(LIBUV_CFLAGS),$$(LIBUV_LIBS)))
# The same rot13_libevent.c, unchanged, against the project's own event_base.
$(eval $(call server,evbase,servers/rot13_libevent.c,$(EVBASE_INC) -DSRV_DESIGN='"evbase"',$(EVBASE_LIB) $(EVBASE_LIBS)))

LOADGEN_SRC := $(filter-out loadgen/main.c,$(wildcard loadgen/*.c))
LOADGEN_LIB := $(if $(LOADGEN_SRC),$(BUILD)/libloadgen.a)
# What a program linked with libloadgen.a needs besides: its io_uring engine.
LOADGEN_LIBS := -luring
BENCH_SRC   := $(wildcard bench/*.c $(BENCH_ROOMS:%=bench/%/*.c))
# evbench but its main(), as a library the tests link too.
BENCH_LIB   := $(if $(BENCH_SRC),$(BUILD)/libbench.a)

BINS := $(SRV_BINS)
ifneq ($(wildcard loadgen/main.c),)
BINS += $(BIN)/loadgen
endif
ifneq ($(BENCH_SRC),)
BINS += $(BIN)/evbench
endif

# One Criterion binary for the project's own tests; the event-loop tests are
# built twice, once against libevent and once against evbase.
TEST_SRC    := $(wildcard tests/*.c)
EVTEST_SRC  := $(wildcard tests/evbase/*.c)
TEST_BINS   := $(if $(TEST_SRC),$(BUILD)/tests/evbench-tests)
ifneq ($(EVTEST_SRC),)
TEST_BINS   += $(BUILD)/tests/evtest-libevent
ifneq ($(EVBASE_SRC),)
TEST_BINS   += $(BUILD)/tests/evtest-evbase
endif
endif
# Small helper programs the tests drive (test servers, fd hogs): tests/helpers/*.c.
HELPER_SRC  := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/bin/%)

# Standalone reproducers of kernel behaviour the project depends on
# (tests/repro/*.c, liburing only): built with everything, run by hand, never
# by `make test`; each reports what it saw and exits 0.
REPRO_SRC  := $(wildcard tests/repro/*.c)
REPRO_BINS := $(REPRO_SRC:tests/repro/%.c=$(BUILD)/tests/repro/%)

BENCH_TOOLS_SRC := $(wildcard evbase/bench/*.c)

# Man pages: man/*.1.in with the options and servers filled in from the
# binaries themselves (scripts/mkman.sh), so they list what the programs hold.
MAN_SRC   := $(wildcard man/*.1.in)
MAN_PAGES := $(MAN_SRC:man/%.1.in=$(BUILD)/man/%.1)

.PHONY: all test bench plots install uninstall clean deps deps-build deps-test deps-bench deps-fuzz tests-build
# Keep every intermediate object: make would otherwise delete the test helpers'
# objects after the run, and its "rm" would be the last line of `make test`.
.SECONDARY:
all: $(BINS) $(MAN_PAGES) $(REPRO_BINS)

$(BUILD)/man/%.1: man/%.1.in scripts/mkman.sh $(BIN)/evbench $(BIN)/loadgen
	@mkdir -p $(@D)
	$(call msg,MAN,$@)
	$(Q)scripts/mkman.sh $< $(BIN) > $@.tmp && mv $@.tmp $@

# ---- dependencies from Debian's packages ------------------------------------

deps:
	$(Q)scripts/deps.sh all
deps-build:
	$(Q)scripts/deps.sh build
deps-test:
	$(Q)scripts/deps.sh test
deps-bench:
	$(Q)scripts/deps.sh bench
deps-fuzz:
	$(Q)scripts/deps.sh fuzz

# ---- compiling --------------------------------------------------------------

$(BUILD)/%.o: %.c | deps-build
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(EV_CPPFLAGS) $(CPPFLAGS) $(EV_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/evbase/%.o: EV_CPPFLAGS += $(EVBASE_INC) -Ievbase/src
$(BUILD)/common/%.o: EV_CPPFLAGS += $(INC_common)
$(BUILD)/servers/%.o: EV_CPPFLAGS += $(INC_servers)
$(BUILD)/loadgen/%.o: EV_CPPFLAGS += $(INC_loadgen)
$(BUILD)/bench/%.o: EV_CPPFLAGS += $(INC_bench)

# Each library is its folder's objects in one archive (bench's without its
# main()), all made by the one recipe below.
$(EVBASE_LIB): $(EVBASE_SRC:%.c=$(BUILD)/%.o)
$(SRV_LIB): $(SRV_SRC:%.c=$(BUILD)/%.o)
$(COMMON_LIB): $(COMMON_SRC:%.c=$(BUILD)/%.o)
$(LOADGEN_LIB): $(LOADGEN_SRC:%.c=$(BUILD)/%.o)
$(BENCH_LIB): $(filter-out $(BUILD)/bench/main.o,$(BENCH_SRC:%.c=$(BUILD)/%.o))
$(EVBASE_LIB) $(SRV_LIB) $(COMMON_LIB) $(LOADGEN_LIB) $(BENCH_LIB):
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/loadgen: $(BUILD)/loadgen/main.o $(LOADGEN_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(EV_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LOADGEN_LIBS) -lm

$(BIN)/evbench: $(BUILD)/bench/main.o $(BENCH_LIB) $(LOADGEN_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(EV_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LOADGEN_LIBS) -lm

# ---- tests -----------------------------------------------------------------

$(BUILD)/tests/%.o: EV_CPPFLAGS += $(INC_tests) $(CRITERION_CFLAGS) -Itests
$(BUILD)/tests/%.o: | deps-test
$(BUILD)/tests/evbench-tests: $(TEST_SRC:%.c=$(BUILD)/%.o) $(BENCH_LIB) $(LOADGEN_LIB) $(SRV_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(EV_LDFLAGS) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS) $(LOADGEN_LIBS) -lm

# libbench.a for gate_oc, which drives the gate's own decision code.
$(BUILD)/tests/bin/%: $(BUILD)/tests/helpers/%.o $(BENCH_LIB) $(LOADGEN_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(EV_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LOADGEN_LIBS) -lm

$(BUILD)/tests/repro/%: $(BUILD)/tests/repro/%.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(EV_LDFLAGS) $(LDFLAGS) -o $@ $^ -luring

# tests/evbase/*.c twice: against the system's libevent, and against evbase.
$(BUILD)/tests/evlib/%.o: tests/evbase/%.c | deps-test
	@mkdir -p $(@D)
	$(call msg,CC,$< [libevent])
	$(Q)$(CC) $(EV_CPPFLAGS) $(INC_tests) $(CPPFLAGS) $(LIBEVENT_CFLAGS) $(CRITERION_CFLAGS) $(EV_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/tests/evown/%.o: tests/evbase/%.c | deps-test
	@mkdir -p $(@D)
	$(call msg,CC,$< [evbase])
	$(Q)$(CC) $(EVBASE_INC) $(EV_CPPFLAGS) $(INC_tests) $(CPPFLAGS) $(CRITERION_CFLAGS) $(EV_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/tests/evtest-libevent: $(EVTEST_SRC:tests/evbase/%.c=$(BUILD)/tests/evlib/%.o)
	$(call msg,LD,$@)
	$(Q)$(CC) $(EV_LDFLAGS) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS) $(LIBEVENT_PTHREADS_LIBS) $(LIBEVENT_LIBS)
$(BUILD)/tests/evtest-evbase: $(EVTEST_SRC:tests/evbase/%.c=$(BUILD)/tests/evown/%.o) $(EVBASE_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(EV_LDFLAGS) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS) $(EVBASE_LIBS)

tests-build: $(BINS) $(MAN_PAGES) $(TEST_BINS) $(HELPER_BINS)

# The plain build also runs the thread tests under ThreadSanitizer (below);
# TSan cannot be combined with the other sanitizers.
TSAN_TEST := $(if $(SANITIZER),,$(if $(EVBASE_SRC),build-tsan/evtest-threads))
test: deps-test tests-build $(TSAN_TEST)
	$(Q)BUILD=$(BUILD) BIN=$(BIN) TSAN_TEST=$(TSAN_TEST) tests/run.sh

# ---- ThreadSanitizer --------------------------------------------------------

# The threaded programs (rot13-threads, rot13-fork's shared counters, the load
# generator) built with -fsanitize=thread in build-thread/, driven under load
# by tests/tsan/ (see its header). The driver is a plain build whatever
# SANITIZER says: Criterion's runner cannot start under TSan.
TSAN_TEST_SRC := $(wildcard tests/tsan/*.c)
$(BUILD)/tests/tsan-tests: $(TSAN_TEST_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/testutil.o \
		$(LOADGEN_LIB) $(COMMON_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(EV_LDFLAGS) $(LDFLAGS) -o $@ $^ $(CRITERION_LIBS) $(LOADGEN_LIBS) -lm

# The README's two commands on a machine that has nothing: a clean clone of
# HEAD in a minimal Debian root (scripts/fresh_root.sh; root only). make test
# comes first, the order that once failed; `scripts/fresh_root.sh bench test`
# is the other.
.PHONY: fresh-check
fresh-check:
	$(Q)scripts/fresh_root.sh test bench

.PHONY: tsan-check
tsan-check: deps-test
	$(Q)$(MAKE) --no-print-directory SANITIZER= build/tests/tsan-tests
	$(Q)$(MAKE) --no-print-directory SANITIZER=thread all build-thread/tests/bin/tsan_race
	$(Q)EVBENCH_BIN=$(CURDIR)/build-thread/bin EVBENCH_BUILD=$(CURDIR)/build-thread \
		build/tests/tsan-tests --verbose=0

# ---- fuzzing -----------------------------------------------------------------

# libFuzzer targets (tests/fuzz/fuzz_<name>.c) for the servers' line framer and
# the two JSON readers, built with clang in build-fuzz/. `make fuzz` runs each
# for FUZZ_SECONDS from its committed seeds (tests/fuzz/corpus/<name>/); what
# it learns stays in build-fuzz/corpus/, a crash in build-fuzz/crash-<name>-*.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)

# Coverage for the fuzzer in every object, its main() only at the link.
$(FUZZ_BUILD)/%.o: %.c | deps-fuzz
	@mkdir -p $(@D)
	$(call msg,CC,$< [fuzz])
	$(Q)$(FUZZ_CC) $(EV_CPPFLAGS) $(INC_tests) -Itests $(CRITERION_CFLAGS) $(CPPFLAGS) -std=gnu11 $(WARN) \
		-O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
$(FUZZ_BUILD)/fuzz_framer: $(FUZZ_BUILD)/tests/fuzz/fuzz_framer.o $(SRV_SRC:%.c=$(FUZZ_BUILD)/%.o)
$(FUZZ_BUILD)/fuzz_jsonr: $(FUZZ_BUILD)/tests/fuzz/fuzz_jsonr.o $(FUZZ_BUILD)/common/jsonr.o
$(FUZZ_BUILD)/fuzz_tu_json: $(FUZZ_BUILD)/tests/fuzz/fuzz_tu_json.o $(FUZZ_BUILD)/tests/testutil.o \
		$(FUZZ_BUILD)/common/jsonr.o $(FUZZ_BUILD)/common/procfs.o
# Only the tests' reader needs Criterion (testutil.c hooks into it).
$(FUZZ_BUILD)/fuzz_tu_json: FUZZ_LIBS = $(CRITERION_LIBS)
$(FUZZ_BINS):
	$(call msg,LD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $(LDFLAGS) -o $@ $^ $(FUZZ_LIBS) -lm

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	$(Q)for t in $(FUZZ_NAMES); do \
		scripts/fuzz.sh $(FUZZ_BUILD) $$t $(FUZZ_SECONDS) || exit 1; \
	done

# ---- the main job ----------------------------------------------------------

# Three interleaved rounds of every server at 3 connection counts, with phases
# short enough that the trials take a few minutes: 72 took under 3 with eight
# designs; the eleven of `all` now make 99, some 4 minutes at that pace (docs/results.md,
# "Comparisons": 3 rounds give each comparison a median and its min-max).
# results/latest moves with every evbench run; results/bench-latest stays on
# this one, so the plots the README and docs/teaching.md point at survive the
# next experiment (the link is made even when a run failed: its JSON says so).
bench: deps-bench all
	$(Q)$(BIN)/evbench --server all --conns 100,1000,10000 --repeat 3 --duration 1 --warmup 0.3 \
		--plot; rc=$$?; \
	id=$$(readlink results/latest) && ln -sfn "$$id" results/bench-latest && \
	$(BIN)/evbench report results/bench-latest >/dev/null && \
	echo "make bench: results in results/bench-latest/ (= results/$$id), report.html there" >&2; \
	exit $$rc

plots: deps-bench
	$(Q)scripts/python.sh scripts/plot.py results/latest

# ---- loadgen (owned by the load generator's maintainer) ---------------------
# Is the load generator cheaper per request than the server it drives? Prints
# client and server CPU us/reply and their ratio at 100 and 10,000 connections.
.PHONY: bench-loadgen
bench-loadgen: $(BIN)/loadgen $(BIN)/rot13-epoll-lt
	$(Q)BIN=$(BIN) scripts/loadgen_efficiency.sh 100 10000
# ---- end of loadgen section ---------------------------------------------------

# ---- installing and cleaning -----------------------------------------------

install: all
	install -d $(BINDIR_I) $(SHAREDIR) $(MANDIR_I) $(COMPDIR_I)
	install -m 755 $(BINS) $(BINDIR_I)
	install -m 644 scripts/plot.py scripts/headless_plt.py $(SHAREDIR)
	install -m 755 scripts/python.sh $(SHAREDIR)
	install -m 644 $(MAN_PAGES) $(MANDIR_I)
	install -m 644 scripts/evbench-completion.bash $(COMPDIR_I)/evbench
	# `man rot13-poll` and the others find the servers' shared page.
	for s in $(notdir $(SRV_BINS)); do echo '.so man1/rot13-server.1' > $(MANDIR_I)/$$s.1; done

uninstall:
	rm -f $(BINS:$(BIN)/%=$(BINDIR_I)/%)
	rm -f $(MAN_PAGES:$(BUILD)/man/%=$(MANDIR_I)/%) $(SRV_BINS:$(BIN)/%=$(MANDIR_I)/%.1)
	rm -f $(COMPDIR_I)/evbench
	rm -rf $(SHAREDIR)

clean:
	rm -rf build build-* bin

-include $(shell find build build-* -name '*.d' 2>/dev/null)

# ---- evbase: the dispatch benchmark (evbase/bench/) ---------------------------
# The same evbase/bench/dispatch.c built against libevent and against evbase;
# `make bench-dispatch` runs both and prints them side by side with ratios;
# `make bench-dispatch-ir` counts instructions per event, `make
# bench-dispatch-uring` times io_uring against libevent's epoll (docs/evbase.md).
EVB_BENCH := $(BUILD)/evbase-bench
.PHONY: bench-dispatch
$(EVB_BENCH)/dispatch-libevent: $(BENCH_TOOLS_SRC) | deps-build
	@mkdir -p $(@D)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(EV_CPPFLAGS) $(INC_tests) $(CPPFLAGS) $(LIBEVENT_CFLAGS) $(EV_CFLAGS) $(CFLAGS) -MMD -MP -o $@ $^ $(EV_LDFLAGS) $(LDFLAGS) $(LIBEVENT_PTHREADS_LIBS) $(LIBEVENT_LIBS)
$(EVB_BENCH)/dispatch-evbase: $(BENCH_TOOLS_SRC) $(EVBASE_LIB) | deps-build
	@mkdir -p $(@D)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(EVBASE_INC) $(EV_CPPFLAGS) $(INC_tests) $(CPPFLAGS) $(EV_CFLAGS) $(CFLAGS) -MMD -MP -o $@ $^ $(EV_LDFLAGS) $(LDFLAGS) $(EVBASE_LIBS)
bench-dispatch: $(EVB_BENCH)/dispatch-libevent $(EVB_BENCH)/dispatch-evbase
	$(Q)evbase/bench/run-dispatch.sh $(EVB_BENCH)
# Instructions per dispatched event, dispatch phase only (valgrind), and the
# io_uring backend's time against libevent's epoll, interleaved pair by pair.
.PHONY: bench-dispatch-ir bench-dispatch-uring
bench-dispatch-ir: $(EVB_BENCH)/dispatch-libevent $(EVB_BENCH)/dispatch-evbase
	$(Q)evbase/bench/ir-dispatch.sh $(EVB_BENCH)
bench-dispatch-uring: $(EVB_BENCH)/dispatch-libevent $(EVB_BENCH)/dispatch-evbase
	$(Q)evbase/bench/uring-vs-epoll.sh $(EVB_BENCH)

# ---- evbase: the thread tests under ThreadSanitizer --------------------------
# tests/evbase/test_threads.c built as a plain program (tests/evbase/tsan/,
# since Criterion's runner does not start under TSan here) against an
# instrumented evbase, and run once per backend. Any report fails the run.
TSAN_DIR := build-tsan
TSAN_BACKENDS ?= select poll epoll io_uring
.PHONY: tsan-threads
$(TSAN_DIR)/evtest-threads: $(EVBASE_SRC) tests/evbase/test_threads.c tests/evbase/tsan/minicr.c \
    tests/evbase/evtest.h tests/evbase/tsan/minicr.h $(wildcard evbase/src/*.h evbase/include/event2/*.h) | deps-build
	@mkdir -p $(@D)
	$(call msg,CCLD,$@ [tsan])
	$(Q)$(CC) -fsanitize=thread -fno-omit-frame-pointer -O1 -g -std=gnu11 -pthread $(WARN) -Wno-format-zero-length \
	    -D_GNU_SOURCE -DEVTEST_MINI $(EVBASE_INC) -Ievbase/src -Itests/evbase -Itests/evbase/tsan \
	    -o $@ $(EVBASE_SRC) tests/evbase/test_threads.c tests/evbase/tsan/minicr.c $(EVBASE_LIBS)
tsan-threads: $(TSAN_DIR)/evtest-threads
	$(Q)st=0; for be in $(TSAN_BACKENDS); do echo "== thread tests under TSan ($$be)"; \
	    EVTEST_BACKEND=$$be TSAN_OPTIONS="exitcode=66 $${TSAN_OPTIONS:-}" $< || st=1; done; exit $$st
