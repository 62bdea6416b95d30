# bpflock — see README.md. `make demo` and `make test` do all set-up on a fresh Debian 12.
SHELL := /bin/bash
# Static on musl: a third the size of static glibc (docs/performance.md). libbpf is built
# by libbpf-sys with musl-gcc, against the kernel and libelf headers gathered in LIBBPF_DEPS;
# Debian's libelf.a and libz.a are linked as they are (src/musl_compat.c). Where rustup
# cannot add the musl target, static glibc: the same program, 1 MiB larger.
# ARCH=arm64 cross-builds for aarch64 (Debian's cross gcc with that architecture's musl,
# libelf and kernel headers unpacked by tools/cross-deps.sh): the IoT images.
ARCH ?= x86_64
ifeq ($(ARCH),arm64)
RUST_ARCH := aarch64
DEB_ARCH := arm64
else ifeq ($(ARCH),x86_64)
RUST_ARCH := x86_64
DEB_ARCH := amd64
else
$(error ARCH=$(ARCH): bpflock builds for x86_64 and arm64)
endif
TRIPLET := $(RUST_ARCH)-linux-gnu
MUSL := $(RUST_ARCH)-unknown-linux-musl
TARGET = $(if $(shell rustup target list --installed 2>/dev/null | grep -x $(MUSL)),$(MUSL),$(RUST_ARCH)-unknown-linux-gnu)
TARGET_VAR = $(subst -,_,$(TARGET))
ifeq ($(ARCH),x86_64)
LIBBPF_DEPS := $(CURDIR)/target/libbpf-deps
STATIC_ENV = RUSTFLAGS='-C target-feature=+crt-static' LIBBPF_SYS_LIBRARY_PATH=$(LIBBPF_DEPS)/lib \
	LIBBPF_SYS_EXTRA_CFLAGS=-I$(LIBBPF_DEPS)/include
else
# Cross: only the target's libbpf-sys gets the target's libraries and compiler (it is built
# for the host too, for build.rs). The headers come with the compiler (cross-deps.sh).
LIBBPF_DEPS := $(CURDIR)/target/libbpf-deps-$(DEB_ARCH)
CROSS_CC = $(LIBBPF_DEPS)/bin/$(if $(filter $(MUSL),$(TARGET)),$(RUST_ARCH)-linux-musl-gcc,$(TRIPLET)-gcc)
STATIC_ENV = RUSTFLAGS='-C target-feature=+crt-static' LIBBPF_SYS_LIBRARY_PATH_$(TARGET_VAR)=$(LIBBPF_DEPS)/lib \
	CC_$(TARGET_VAR)=$(CROSS_CC) AR_$(TARGET_VAR)=$(TRIPLET)-ar \
	CARGO_TARGET_$(shell echo $(TARGET_VAR) | tr a-z A-Z)_LINKER=$(TRIPLET)-gcc
endif
BIN = target/$(TARGET)/release/bpflock
# What the guests run: the release build with the faults the tests inject (feature
# fault-injection, profile guest: its own directory, so neither build undoes the other).
GUEST_BIN = target/$(TARGET)/guest/bpflock
GUEST := target/guest
KERNELS ?= bookworm trixie trixie-backports sid
PREFIX ?= /usr
DESTDIR ?=

.PHONY: all build build-guest dist deb deps build-deps test-deps fuzz test test-unit test-install test-guest test-arm64 test-matrix test-boot readme-matrix guest-kernels guest-initrds demo bench print-bin install uninstall vmlinux clean

# `make`: the binary, its man pages and completions, in target/dist (as yourself);
# `sudo make install` copies them and builds nothing (sudo's PATH has no cargo).
all: dist

# Debian packages and nothing else (plus rustup's musl target). To build: clang/llvm for
# the BPF C, libelf/zlib static archives, musl-gcc and kernel headers for libbpf (and the
# cross compiler for ARCH=arm64). To test: QEMU, busybox-static, debootstrap and the tools
# the guests and the package need. Each is skipped when everything is there.
BUILD_PACKAGES := clang llvm libelf-dev zlib1g-dev libbpf-dev musl-tools linux-libc-dev gcc libc6-dev make
CROSS_PACKAGES := gcc-aarch64-linux-gnu libc6-dev-arm64-cross
TEST_PACKAGES := qemu-system-x86 qemu-system-arm busybox-static cpio kmod xz-utils zstd e2fsprogs debootstrap strace bc \
	bpftool dpkg systemd $(CROSS_PACKAGES)
define apt-install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef
deps: build-deps test-deps
test-deps:
	$(call apt-install,$(TEST_PACKAGES))
build-deps:
	$(call apt-install,$(BUILD_PACKAGES) $(if $(filter arm64,$(ARCH)),$(CROSS_PACKAGES)))
	@rustup target list --installed 2>/dev/null | grep -qx $(MUSL) || rustup target add $(MUSL) || \
		echo "warning: rustup could not add $(MUSL): building on static glibc" >&2
ifeq ($(ARCH),x86_64)
	@mkdir -p $(LIBBPF_DEPS)/include $(LIBBPF_DEPS)/lib
	@for h in linux asm-generic libelf.h gelf.h zlib.h zconf.h; do ln -sfn /usr/include/$$h $(LIBBPF_DEPS)/include/$$h; done
	@ln -sfn /usr/include/x86_64-linux-gnu/asm $(LIBBPF_DEPS)/include/asm
	@for a in libelf.a libz.a; do ln -sfn /usr/lib/x86_64-linux-gnu/$$a $(LIBBPF_DEPS)/lib/$$a; done
else
	@tools/cross-deps.sh $(DEB_ARCH) $(LIBBPF_DEPS)
endif

build: build-deps
	$(STATIC_ENV) cargo build --release --locked --target $(TARGET)
	@! readelf -l $(BIN) | grep -q INTERP || { echo "$(BIN) is dynamically linked" >&2; exit 1; }
	@echo "built $(BIN) ($$(stat -c %s $(BIN)) bytes, static)"

build-guest: build-deps
	$(STATIC_ENV) cargo build --profile guest --features fault-injection --locked --target $(TARGET) --bin bpflock
	@! readelf -l $(GUEST_BIN) | grep -q INTERP || { echo "$(GUEST_BIN) is dynamically linked" >&2; exit 1; }

# The guests' programs, per architecture: target/guest/ for x86_64, target/guest/arm64/.
ifeq ($(ARCH),x86_64)
GUEST_ARCH := $(GUEST)
GUEST_CC := gcc
KSUFFIX :=
GUEST_ENV :=
else
GUEST_ARCH := $(GUEST)/$(DEB_ARCH)
GUEST_CC := $(TRIPLET)-gcc
KSUFFIX := -$(DEB_ARCH)
# Its busybox, and the loader and libc of its dynamic nop, from Debian's packages.
GUEST_ENV := BPFLOCK_BUSYBOX=$(LIBBPF_DEPS)/root/bin/busybox BPFLOCK_NO_JOURNALD=1
GUEST_LIBS := /usr/$(TRIPLET)/lib/ld-linux-aarch64.so.1:/lib/ld-linux-aarch64.so.1 /usr/$(TRIPLET)/lib/libc.so.6:/lib/libc.so.6
endif

$(GUEST_ARCH)/testops: $(wildcard tests/guest/testops/*.c tests/guest/testops/*.h)
	@mkdir -p $(GUEST_ARCH)
	$(GUEST_CC) -static -O2 -Wall -Werror -o $@ $(filter %.c,$^)

$(GUEST_ARCH)/jailops: tests/guest/jailops.c
	@mkdir -p $(GUEST_ARCH)
	$(GUEST_CC) -static -O2 -Wall -Werror -o $@ $< -lpthread

# A program that exits 0: static for exec cases, dynamic for the ld.so cases.
$(GUEST_ARCH)/nop: tests/guest/nop.c
	@mkdir -p $(GUEST_ARCH)
	$(GUEST_CC) -static -O2 -o $@ $<
$(GUEST_ARCH)/nop-dyn: tests/guest/nop.c
	@mkdir -p $(GUEST_ARCH)
	$(GUEST_CC) -O2 -o $@ $<

guest-kernels: deps
	@for k in $(KERNELS); do tests/guest/fetch-kernel.sh $$k $(DEB_ARCH) || exit 1; done

$(GUEST_ARCH)/initramfs.cpio.gz: build-guest $(GUEST_ARCH)/testops $(GUEST_ARCH)/jailops $(GUEST_ARCH)/nop $(GUEST_ARCH)/nop-dyn tests/guest/init $(wildcard tests/guest/*.sh tests/guest/cases/*.sh) tests/guest/mkinitramfs.sh $(wildcard tests/policies/*.toml)
	$(GUEST_ENV) BPFLOCK_EXTRA="$(GUEST_ARCH)/nop:/bin/nop $(GUEST_ARCH)/nop-dyn:/bin/nop-dyn $(GUEST_ARCH)/jailops:/bin/jailops $(GUEST_LIBS)" \
		tests/guest/mkinitramfs.sh $(GUEST_BIN) $(GUEST_ARCH)/testops $@

# Unit and host tests, then the enforcement cases in the guests of the matrix, then a
# Debian system booted with bpflock installed.
test: test-unit test-install test-matrix test-boot

test-unit: build-deps
	cargo test --locked --lib --bins --test cli --test policy_fuzz
	@mkdir -p target
	musl-gcc -O2 -Wall -Werror -fno-tree-loop-distribute-patterns -o target/musl_compat_test tests/musl_compat.c src/musl_compat.c
	target/musl_compat_test

# One initrd per kernel: the shared archive, then that kernel's modules (the kernel
# unpacks concatenated archives in turn).
guest-initrds: guest-kernels $(GUEST_ARCH)/initramfs.cpio.gz
	@for k in $(KERNELS); do \
		tests/guest/mkmodules.sh $(GUEST)/kernel-$$k$(KSUFFIX) $(GUEST)/modules-$$k$(KSUFFIX).cpio.gz && \
		cat $(GUEST_ARCH)/initramfs.cpio.gz $(GUEST)/modules-$$k$(KSUFFIX).cpio.gz > $(GUEST)/initramfs-$$k$(KSUFFIX).cpio.gz || exit 1; \
	done

# The matrix (docs/testing.md). A guest is KERNEL[+ARG=VALUE...][:SUITE,...] (tests/guest.rs):
# every x86_64 kernel runs every suite (tests/guest/cases/); arm64 kernels all but audit
# (journald is the host's, x86_64); bookworm's arm64 6.1 cannot attach BPF LSM programs (no ftrace
# direct calls), where bpflock must refuse and pin nothing; one kernel is booted again
# under each lockdown mode; every kernel once more with its root on a disk (the rootfs
# suite: /init switch_roots into it).
# The jail suite runs on the arm64 kernels of ARM64_JAIL_KERNELS only (the matrix's arm64
# kernel; the jail on 7.x is proven on x86_64): CI's 90 minutes (docs/testing.md).
ARM64_KERNELS ?= trixie trixie-backports
ARM64_JAIL_KERNELS ?= trixie
ARM64_UNSUPPORTED ?= bookworm
LOCKDOWN_KERNELS ?= $(lastword $(KERNELS))
ROOTDISK = +bpflock.rootdisk:rootfs,seal
X86_GUESTS = $(KERNELS) $(KERNELS:%=%$(ROOTDISK)) $(foreach k,$(LOCKDOWN_KERNELS),$(k)+lockdown=integrity:lockdown $(k)+lockdown=confidentiality:lockdown)
NO_JAIL := ,-jail
ARM64_GUESTS = $(foreach k,$(ARM64_KERNELS),$(k)-arm64:-audit$(if $(filter $(k),$(ARM64_JAIL_KERNELS)),,$(NO_JAIL))) \
	$(ARM64_KERNELS:%=%-arm64$(ROOTDISK)) $(ARM64_UNSUPPORTED:%=%-arm64:unsupported)
run-guests = BPFLOCK_GUEST_DIR=$(CURDIR)/$(GUEST) BPFLOCK_GUESTS="$(1)" cargo test --locked --test guest

# x86_64 guests, arm64 guests, or both in one pool of two (what make test runs).
test-guest: guest-initrds
	$(call run-guests,$(X86_GUESTS))
test-arm64:
	$(MAKE) ARCH=arm64 KERNELS="$(sort $(ARM64_KERNELS) $(ARM64_UNSUPPORTED))" guest-initrds
	$(call run-guests,$(ARM64_GUESTS))
test-matrix: guest-initrds
	$(MAKE) ARCH=arm64 KERNELS="$(sort $(ARM64_KERNELS) $(ARM64_UNSUPPORTED))" guest-initrds
	$(call run-guests,$(ARM64_GUESTS) $(X86_GUESTS))

# The README's table of the kernels bpflock is proven on, from the last guest run.
readme-matrix:
	tools/readme-matrix.sh

# A real Debian systemd system (debootstrap, cached in target/boot) with bpflock from
# `make install`, booted once per scenario: unit ordering, the initramfs path, bad boots.
BOOT_SUITE ?= bookworm
test-boot: test-deps deb $(GUEST)/testops
	tests/guest/fetch-kernel.sh $(BOOT_SUITE)
	BPFLOCK_DEB=$(DEB) tests/boot/run.sh $(BOOT_SUITE) $(GUEST)/kernel-$(BOOT_SUITE) $(GUEST)/testops

# Boots a guest with the default policy and shows, side by side, the same operations
# allowed in the initial pid namespace and refused in a container.
DEMO_KERNEL ?= $(firstword $(KERNELS))
demo: deps $(GUEST)/initramfs-demo.cpio.gz
	tests/guest/fetch-kernel.sh $(DEMO_KERNEL)
	tests/guest/demo.sh $(GUEST) $(DEMO_KERNEL)

$(GUEST)/initramfs-demo.cpio.gz: build $(GUEST)/testops tests/guest/demo-init tests/guest/mkinitramfs.sh
	BPFLOCK_INIT=tests/guest/demo-init tests/guest/mkinitramfs.sh $(BIN) $(GUEST)/testops $@

# Benchmarks (docs/performance.md): hook costs under QEMU -icount, the jail against Landlock
# and AppArmor, verifier cost, the forwarder, binary size and bootstrap time. Report in
# target/bench/report.md. Every kernel of the matrix: x86_64's (KERNELS) and arm64's
# (ARM64_BENCH_KERNELS: the comparison only); `make bench ARCH=arm64 KERNELS=trixie` (or
# ARCH=x86_64) runs that architecture's kernels only. BENCH_ONLY=locks|forward|compare: one part.
ARM64_BENCH_KERNELS ?= $(ARM64_KERNELS)
ifeq ($(origin ARCH),command line)
BENCH_GUESTS = $(KERNELS:%=%$(KSUFFIX))
else
BENCH_GUESTS = $(KERNELS) $(ARM64_BENCH_KERNELS:%=%-arm64)
endif
BENCH_X86 = $(filter-out %-arm64,$(BENCH_GUESTS))
BENCH_ARM64 = $(filter %-arm64,$(BENCH_GUESTS))
bench: test-deps
	$(if $(BENCH_X86),$(MAKE) ARCH=x86_64 build $(GUEST)/testops)
	$(if $(BENCH_ARM64),$(MAKE) ARCH=arm64 build $(GUEST)/arm64/testops)
	@for k in $(BENCH_X86); do tests/guest/fetch-kernel.sh $$k || exit 1; done
	@for k in $(BENCH_ARM64:%-arm64=%); do tests/guest/fetch-kernel.sh $$k arm64 || exit 1; done
	BPFLOCK_amd64=$(if $(BENCH_X86),$$($(MAKE) -s ARCH=x86_64 print-bin)) BPFLOCK_arm64=$(if $(BENCH_ARM64),$$($(MAKE) -s ARCH=arm64 print-bin)) \
		tests/bench/run.sh $(GUEST) $(BENCH_GUESTS)
print-bin:
	@echo $(BIN)

# What `make install` copies, built by `make` (docs/deploy.md).
DIST := target/dist/$(DEB_ARCH)
# The man pages and completions generator: a host tool, built for this machine.
GEN = target/debug/bpflock-gen
$(GEN): FORCE
	cargo build --locked --bin bpflock-gen --features gen
FORCE:

dist: build $(GEN) man/bpflock.toml.5
	@rm -rf $(DIST) && mkdir -p $(DIST)/man $(DIST)/completions
	cp $(BIN) $(DIST)/bpflock
	$(GEN) man $(DIST)/man
	cp man/bpflock.toml.5 $(DIST)/man/
	$(GEN) completions bash > $(DIST)/completions/bpflock
	$(GEN) completions zsh > $(DIST)/completions/_bpflock
	$(GEN) completions fish > $(DIST)/completions/bpflock.fish
	@echo "built $(DIST): $$(ls $(DIST)/man | wc -l) man pages, completions; then: sudo make install"

# Installed layout (docs/deploy.md). /etc/bpflock/policy.toml is never overwritten. The
# initramfs hooks go where initramfs-tools and dracut look, whatever PREFIX is.
SBINDIR := $(PREFIX)/sbin
UNITDIR := $(PREFIX)/lib/systemd/system
MANDIR := $(PREFIX)/share/man
INITRAMFS_TOOLS_DIR ?= $(if $(filter /usr,$(PREFIX)),/usr/share/initramfs-tools,/etc/initramfs-tools)
DRACUT_DIR ?= /usr/lib/dracut/modules.d/90bpflock
# udev reads no rules under /usr/local: a local install's rule goes in /etc.
UDEV_RULES_DIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/udev/rules.d,/etc/udev/rules.d)
INSTALLED := $(SBINDIR)/bpflock $(UNITDIR)/bpflock.service $(UNITDIR)/bpflock-forward.service \
	$(UDEV_RULES_DIR)/70-bpflock-usb.rules \
	$(PREFIX)/share/bash-completion/completions/bpflock \
	$(PREFIX)/share/zsh/vendor-completions/_bpflock $(PREFIX)/share/fish/vendor_completions.d/bpflock.fish \
	$(DRACUT_DIR)/module-setup.sh $(DRACUT_DIR)/bpflock-bootstrap.sh \
	$(INITRAMFS_TOOLS_DIR)/hooks/bpflock $(INITRAMFS_TOOLS_DIR)/scripts/init-premount/bpflock
# The installed path of bpflock, in the files that name it.
at-sbindir = sed -e 's|/usr/sbin/bpflock|$(SBINDIR)/bpflock|g' $(1) > $(2)
at-sbindir-hook = sed -e 's|^BPFLOCK=/usr/sbin/bpflock|BPFLOCK=$(SBINDIR)/bpflock|' $(1) > $(2)

install:
	@test -x $(DIST)/bpflock || { echo "make install: nothing built in $(DIST): run \`make\` first (as yourself), then \`sudo make install\`" >&2; exit 1; }
	install -D -m 755 $(DIST)/bpflock $(DESTDIR)$(SBINDIR)/bpflock
	install -d $(DESTDIR)$(UNITDIR)
	@for u in bpflock bpflock-forward; do \
		$(call at-sbindir,systemd/$$u.service,$(DESTDIR)$(UNITDIR)/$$u.service); \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u.service; \
	done
	install -d $(DESTDIR)$(UDEV_RULES_DIR)
	$(call at-sbindir,udev/70-bpflock-usb.rules,$(DESTDIR)$(UDEV_RULES_DIR)/70-bpflock-usb.rules)
	chmod 644 $(DESTDIR)$(UDEV_RULES_DIR)/70-bpflock-usb.rules
	install -d -m 755 $(DESTDIR)/etc/bpflock $(DESTDIR)/etc/default
	@if [ -e $(DESTDIR)/etc/bpflock/policy.toml ]; then \
		echo "keeping the existing $(DESTDIR)/etc/bpflock/policy.toml"; \
	else \
		install -m 600 policy/default.toml $(DESTDIR)/etc/bpflock/policy.toml; \
	fi
	@[ -e $(DESTDIR)/etc/default/bpflock ] || install -m 644 debian/default $(DESTDIR)/etc/default/bpflock
	install -d $(DESTDIR)$(PREFIX)/share/bpflock/policy
	install -m 644 policy/*.toml $(DESTDIR)$(PREFIX)/share/bpflock/policy/
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 644 $(DIST)/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 $(DIST)/man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -D -m 644 $(DIST)/completions/bpflock $(DESTDIR)$(PREFIX)/share/bash-completion/completions/bpflock
	install -D -m 644 $(DIST)/completions/_bpflock $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_bpflock
	install -D -m 644 $(DIST)/completions/bpflock.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/bpflock.fish
	install -d $(DESTDIR)$(DRACUT_DIR) $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/hooks $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/scripts/init-premount
	$(call at-sbindir-hook,dracut/90bpflock/module-setup.sh,$(DESTDIR)$(DRACUT_DIR)/module-setup.sh)
	install -m 755 dracut/90bpflock/bpflock-bootstrap.sh $(DESTDIR)$(DRACUT_DIR)/bpflock-bootstrap.sh
	$(call at-sbindir-hook,initramfs-tools/hooks/bpflock,$(DESTDIR)$(INITRAMFS_TOOLS_DIR)/hooks/bpflock)
	install -m 755 initramfs-tools/scripts/init-premount/bpflock $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/scripts/init-premount/bpflock
	chmod 755 $(DESTDIR)$(DRACUT_DIR)/module-setup.sh $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/hooks/bpflock

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rm -f $(DESTDIR)$(MANDIR)/man8/bpflock.8 $(DESTDIR)$(MANDIR)/man8/bpflock-*.8 $(DESTDIR)$(MANDIR)/man5/bpflock.toml.5
	rm -rf $(DESTDIR)$(PREFIX)/share/bpflock $(DESTDIR)$(DRACUT_DIR)
	@echo "kept $(DESTDIR)/etc/bpflock/policy.toml and $(DESTDIR)/etc/default/bpflock (yours to remove)"

# A Debian package of the same layout (PREFIX=/usr): units enabled by its maintainer
# scripts, not started; the policy and /etc/default/bpflock are conffiles.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
DEB := target/bpflock_$(VERSION)_$(DEB_ARCH).deb
DEB_ROOT := target/deb-$(DEB_ARCH)
deb: dist
	@rm -rf $(DEB_ROOT)
	$(MAKE) -s install DESTDIR=$(CURDIR)/$(DEB_ROOT) PREFIX=/usr ARCH=$(ARCH)
	install -D -m 644 debian/copyright $(DEB_ROOT)/usr/share/doc/bpflock/copyright
	install -d $(DEB_ROOT)/DEBIAN
	install -m 644 debian/conffiles $(DEB_ROOT)/DEBIAN/conffiles
	install -m 755 debian/postinst debian/prerm debian/postrm $(DEB_ROOT)/DEBIAN/
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' -e "s/@SIZE@/$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)/" \
		debian/control.in > $(DEB_ROOT)/DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $(DEB)
	@echo "built $(DEB)"

# make install into a scratch DESTDIR, twice, and make uninstall: the layout, the policy
# that is never overwritten, the generated man page and completions.
test-install: test-deps dist deb
	$(MAKE) ARCH=arm64 deb
	tests/install.sh

# Coverage-guided fuzzing of the policy parser (fuzz/), seeded with every example policy;
# `make test` runs the bounded part (tests/policy_fuzz.rs). FUZZ_SECONDS=600 for longer.
FUZZ_SECONDS ?= 120
fuzz: build-deps
	@cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
	@mkdir -p fuzz/corpus/policy && cp policy/*.toml tests/policies/*.toml fuzz/corpus/policy/
	# cargo-fuzz passes nightly flags (sanitizer coverage): allowed on the one stable toolchain.
	RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz --sanitizer none policy fuzz/corpus/policy -- \
		-max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=2048

# Regenerates include/vmlinux.h from the running kernel's BTF (CO-RE: any recent kernel will do).
vmlinux:
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > include/vmlinux.h

clean:
	cargo clean
