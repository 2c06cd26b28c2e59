/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVMX_MMIO_H
#define KVMX_MMIO_H

struct kvmx_memslot;
struct kvmx_vcpu;

/*
 * An access to @gpa found no RAM (@no_slot: no memslot; else a write to a
 * read-only one): emulate the instruction, sending MMIO to user space.
 * Returns 1 to re-enter, 0 to exit (KVM_EXIT_MMIO or an internal error).
 */
int kvmx_mmio_fault(struct kvmx_vcpu *vcpu, u64 gpa, bool no_slot);

/*
 * A write to @gpa, a guest page table the MMU shadows (KVMX_FAULT_EMULATE)
 * in the writable memslot @slot, that faulted at linear address @la:
 * emulate the instruction (a cached MOV to @la without the emulator); the
 * MMU follows each RAM write
 * (kvmx_mmu_track_write()).  An instruction the emulator cannot run
 * unprotects the page (kvmx_mmu_unprotect()) and the guest runs it again,
 * natively.  Returns what kvmx_mmio_fault() does.
 */
int kvmx_emulate_pt_write(struct kvmx_vcpu *vcpu, u64 la, u64 gpa,
			  const struct kvmx_memslot *slot);

/* KVM_RUN after an MMIO read exit: finish the instruction with its data. */
int kvmx_complete_mmio_read(struct kvmx_vcpu *vcpu);

/* KVM_RUN after the first fragment of a page-crossing MMIO write. */
int kvmx_complete_mmio_write2(struct kvmx_vcpu *vcpu);

#endif /* KVMX_MMIO_H */
