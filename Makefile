# kvmx: the module, its tests and its benchmarks.
#
#   make            build kvmx.ko for Debian's current kernel (KDIR=... for another)
#   make demo       boot the emulated test host, load kvmx, show the VMX features it found
#   make check      unit tests, checkpatch, then one test-host boot running every selftest
#   make check-debug every selftest on the debug kernel (lockdep, KASAN, ...), then
#                   one boot proving its checkers report; the first run builds that
#                   kernel (1-2 hours on two shared cores, then cached)
#   make bench      one test-host boot measuring MMIO/PIO round trips, memslot updates and shadow-MMU faults, kvmx and kvm_intel
#   make fuzz       the libFuzzer target for the instruction emulator (SECONDS=600)
#   make fuzz-host  one test-host boot running the long selftests (ioctl_fuzz, diff_fuzz,
#                   memslot_race) for FUZZ_SECONDS each (default 600; SEED=N repeats)
#   make install    install kvmx.ko into /lib/modules/<kernel>/updates (real host)
#   make selftests  build the selftests (static binaries in build/selftests)
#   make kvmx_stat  build tools/kvmx_stat (static, build/kvmx_stat)
#   make qmp_query  build tools/qmp_query, the test host's QMP client (static, build/qmp_query)
#   make unit       build and run the user-space unit tests only
#   make clean
#
# The tools install what they need through apt-get (tools/setup).

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD ?= $(TOP)/build
KDIR ?= /usr/src/linux-headers-$(shell $(TOP)/tools/kabi)-amd64

all: module

module:
	@$(TOP)/tools/setup build
	$(MAKE) -C $(KDIR) M=$(TOP) KVMX_WERROR=y modules

install: module
	$(MAKE) -C $(KDIR) M=$(TOP) INSTALL_MOD_DIR=updates modules_install
	depmod -a $(notdir $(patsubst %/,%,$(dir $(realpath $(KDIR)/Makefile))))

selftests:
	@$(TOP)/tools/setup build
	$(MAKE) -C $(TOP)/selftests OUT=$(BUILD)/selftests

kvmx_stat:
	@$(TOP)/tools/setup build
	$(MAKE) -C $(TOP)/tools/kvmx_stat OUT=$(BUILD)/kvmx_stat

qmp_query:
	@$(TOP)/tools/setup build
	$(MAKE) -C $(TOP)/tools/qmp_query OUT=$(BUILD)/qmp_query

unit:
	@$(TOP)/tools/setup build
	cmake -S $(TOP)/tests/unit -B $(BUILD)/unit -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build $(BUILD)/unit -j2
	ctest --test-dir $(BUILD)/unit --output-on-failure

demo:
	$(TOP)/tools/testhost/testhost demo

bench:
	$(TOP)/tools/testhost/testhost bench

fuzz:
	@$(TOP)/tools/setup fuzz
	$(MAKE) -C $(TOP)/fuzz fuzz

FUZZ_SECONDS ?= 600
fuzz-host:
	$(TOP)/tools/testhost/testhost fuzz --seconds $(FUZZ_SECONDS) $(if $(SEED),--seed $(SEED))

check:
	$(TOP)/tools/check

check-debug:
	$(TOP)/tools/check-debug

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf $(BUILD)

.PHONY: all module install selftests kvmx_stat qmp_query unit demo bench fuzz fuzz-host check check-debug clean
