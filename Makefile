# Petrel: a thin wrapper over CMake.  `make run` and `make check` install
# what they need on Debian 12 (apt-get) and work from a fresh clone.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc)
DEBIAN_PACKAGES = build-essential cmake nasm pkg-config libcmocka-dev \
                  zlib1g-dev liblzma-dev libzstd-dev liblz4-dev acpica-tools libjansson-dev \
                  busybox-static cpio clang libclang-rt-14-dev libsodium-dev \
                  debootstrap e2fsprogs iproute2
# Only for `make bench-compare` (the emulators the interpreter is measured against).
BENCH_PACKAGES = bochs bochsbios vgabios qemu-system-x86

# Tests that exercise threads run again under ThreadSanitizer.
THREADED_TESTS = 'test_linux_machine|test_req|tstVMREQ|test_lifecycle|test_create|test_vclock|test_i8259|test_i8254|test_uart16550|test_cmos_rtc|test_kvm_guests|test_control|test_config_json|test_kvm_irqchip|test_interp_atomic|test_interp_apic|test_apic_models|test_saved_state$$|test_device_state|test_virtio_blk|test_virtio_hostile|test_virtio_console|test_virtio_net|test_saved_state_cow|test_adaptive_poll'

.PHONY: all deps build run run-linux run-flat linux-guest check check-asan check-tsan check-linux check-slow bench bench-linux bench-net bench-deps bench-compare install lint clean fuzz-state

all: build

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

# The main job: boot the default guest, Debian's cloud kernel + the busybox
# initramfs (initramfs/init) on 2 vCPUs.  Interactive: a shell on the console
# (Ctrl-A x quits).  With stdin not a terminal (`make run < /dev/null`), /init
# prints its banner and marker line and powers off; the target then fails
# unless the marker said OK.
KERNEL_CACHE ?= .cache/kernel
INITRAMFS    ?= .cache/initramfs.cpio.gz
LINUX_CPUS   ?= 2
LINUX_APPEND  = console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 reboot=k petrel.cpus=$(LINUX_CPUS)

$(INITRAMFS): initramfs/init scripts/make-initramfs.sh scripts/fetch-kernel.sh | deps
	sh scripts/fetch-kernel.sh $(KERNEL_CACHE) >/dev/null
	sh scripts/make-initramfs.sh $@ $(KERNEL_CACHE)/root

linux-guest: deps $(INITRAMFS)

run: build linux-guest
	@kernel="$$(sh scripts/fetch-kernel.sh $(KERNEL_CACHE))"; \
	cmd="./$(BUILD)/petrel run --kernel $$kernel --initrd $(INITRAMFS) --cpus $(LINUX_CPUS)"; \
	if [ -t 0 ]; then echo "$$cmd --append '$(LINUX_APPEND)'"; exec $$cmd --append "$(LINUX_APPEND)"; fi; \
	echo "$$cmd --append '$(LINUX_APPEND) petrel.poweroff=1'"; \
	($$cmd --append "$(LINUX_APPEND) petrel.poweroff=1" 2>&1; echo "petrel: exit status $$?") | tee $(BUILD)/run.log; \
	grep -q "petrel-init: OK" $(BUILD)/run.log && grep -q "petrel: exit status 0" $(BUILD)/run.log || \
	    { echo "petrel: the guest did not reach its OK marker and power off"; exit 1; }

run-linux: run

# Debian 12 on a virtio disk (scripts/make-rootfs.sh: debootstrap, cached in
# .cache/rootfs): systemd boots from /dev/vda and logs root in on the console.
ROOTFS ?= .cache/rootfs.ext4
$(ROOTFS): scripts/make-rootfs.sh | deps
	sh scripts/make-rootfs.sh $@ .cache/rootfs

rootfs: deps $(ROOTFS)

# debootstrap needs root: others run the Linux tests without the disk
# (test_linux_rootdisk then skips, saying why).
ROOTFS_IF_ROOT = $(if $(filter 0,$(shell id -u)),rootfs)

run-rootdisk: build linux-guest rootfs
	./$(BUILD)/petrel run --kernel "$$(sh scripts/fetch-kernel.sh $(KERNEL_CACHE))" --initrd $(INITRAMFS) \
	    --memory 512 --disk $(ROOTFS) --append "console=ttyS0 root=/dev/vda panic=-1 reboot=k"

# The small flat test guest: prints on the debug console, exits with 97.
run-flat: build
	@./$(BUILD)/petrel run --image $(BUILD)/guests/hello_long.bin --mode long; status=$$?; \
	if [ $$status -eq 97 ]; then echo "petrel: the guest exited with its success code (97)"; \
	else echo "petrel: the guest failed (exit status $$status)"; exit 1; fi

check: check-asan check-tsan check-linux

check-asan: deps linux-guest
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPETREL_SANITIZE=address
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j 2 -LE 'slow|linux'
	scripts/fuzz-state.sh $(ASAN_BUILD)/fuzz 5

# Long runs kept out of `make check`: the Linux tests (label "linux") under
# ASan+UBSan, about ten times slower than in the optimized build, and
# anything labelled "slow".
check-slow: deps linux-guest $(ROOTFS_IF_ROOT)
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPETREL_SANITIZE=address
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -L 'slow|linux'

check-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPETREL_SANITIZE=thread
	cmake --build $(TSAN_BUILD) -j $(JOBS)
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" ctest --test-dir $(TSAN_BUILD) --output-on-failure -LE 'slow|linux' -R $(THREADED_TESTS)

# Debian's kernel booted through the petrel command (ctest label "linux"):
# against the optimized build, where a boot takes seconds (minutes under
# ASan's instrumentation of the interpreter).
check-linux: deps linux-guest $(ROOTFS_IF_ROOT)
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)
	ctest --test-dir $(BUILD) --output-on-failure -L linux

bench: build
	./$(BUILD)/bench/req_roundtrip
	./$(BUILD)/bench/pio_exit
	./$(BUILD)/bench/interp_mips
	./$(BUILD)/bench/state_save
	./$(BUILD)/bench/virtio_blk
	./$(BUILD)/bench/state_cow_restore

# The interpreter's integer loop beside Debian's Bochs and QEMU TCG.
bench-deps:
	@missing=""; for p in $(BENCH_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

bench-compare: build bench-deps
	bench/interp_compare.sh $(BUILD)

# Linux boot time (beside QEMU, which the script installs for the comparison)
# and the VMM's memory overhead.
bench-linux: build linux-guest
	bench/linux_boot.sh $(BUILD) 5 1

# virtio-blk: O_DIRECT sequential MiB/s and 4 KiB random-read IOPS in Linux
# on Petrel beside the host on the same image file (DISK_MIB MiB).
DISK_MIB ?= 64
.PHONY: bench-disk
bench-disk: build linux-guest
	bench/linux_disk.sh $(BUILD) $(DISK_MIB) 3

# TCP throughput guest<->host over virtio-net and a tap, beside a veth pair
# between two network namespaces (the limit), in a namespace of its own (root).
bench-net: build linux-guest
	bench/linux_net.sh $(BUILD) 64

# The saved-state loader and the teleport handshake under libFuzzer (clang),
# FUZZ_SECONDS each (`make check` runs them 5 s each).
FUZZ_SECONDS ?= 600
fuzz-state: deps
	scripts/fuzz-state.sh $(ASAN_BUILD)/fuzz $(FUZZ_SECONDS)

# The interpreter against the real CPU with fresh seeds, until stopped.
fuzz-interp: build
	scripts/fuzz-interp.sh $(BUILD)

# Static analysis: clang-tidy's bugprone checks and cppcheck over src/.
# Silent when clean; prints the findings and fails when there are any.
lint: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
	@status=0; \
	tidy_rc=0; tidy_out=$$(run-clang-tidy -quiet -p $(BUILD) 'src/' 2>&1) || tidy_rc=$$?; \
	found=$$(printf '%s\n' "$$tidy_out" | sed 's/\x1b\[[0-9;]*m//g' | grep -E 'warning:|error:' | sort -u); \
	if [ -n "$$found" ]; then \
	    printf '%s\n' "$$found"; status=1; \
	elif [ $$tidy_rc -ne 0 ]; then \
	    printf '%s\n' "$$tidy_out" | tail -n 20; echo "lint: run-clang-tidy failed (exit $$tidy_rc)"; status=1; \
	fi; \
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	    --suppress=missingIncludeSystem -I include -I src src || status=1; \
	exit $$status

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
