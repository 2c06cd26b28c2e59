// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GET_SUPPORTED_CPUID: the host's CPUID, cut down to what a kvmx guest
 * can use.  Guest CPUID comes from KVM_SET_CPUID2 (exit.c answers CPUID
 * from that table), so this is only the offer user space builds it from.
 */
#include <linux/kvm.h>
#include <linux/uaccess.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>
#include <asm/processor.h>

#include "kvmx.h"

struct cpuid_mask {
	u32 function;
	u32 index;
	u32 flags;
	u32 eax, ebx, ecx, edx;	/* bits kept from the host; ~0 keeps all */
};

#define ALL	0xffffffffu

static const struct cpuid_mask supported[] = {
	{ 0x0, 0, 0, ALL, ALL, ALL, ALL },
	/*
	 * 1: ECX SSE3 PCLMUL SSSE3 CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES RDRAND;
	 *    EDX FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA
	 *    CMOV PAT PSE36 CLFSH MMX FXSR SSE SSE2 (KVM's list without DS
	 *    and SS).  No VMX, XSAVE/AVX, PCID.  x2APIC is added whatever the
	 *    host has (fill()): as KVM, the in-kernel LAPIC emulates it.
	 */
	{ 0x1, 0, 0, ALL, 0x0000ffff, 0x42d82203, 0x078bfbff },
	/*
	 * 7.0: EBX FSGSBASE BMI1 SMEP BMI2 ERMS ADX SMAP CLFLUSHOPT; TSC_ADJUST
	 * is added whatever the host has (fill()): as KVM, it is emulated.
	 */
	{ 0x7, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX, 0, 0x009803a9, 0, 0 },
	/*
	 * KVM's paravirtual leaves, as KVM offers them: the signature, then
	 * the PV features, of which kvmx has kvmclock and steal time (no
	 * PV EOI, async PF ...).  Filled in by fill(), not from the host.
	 */
	{ KVM_CPUID_SIGNATURE, 0, 0, 0, 0, 0, 0 },
	{ KVM_CPUID_FEATURES, 0, 0, 0, 0, 0, 0 },
	{ 0x80000000, 0, 0, ALL, ALL, ALL, ALL },
	/* ECX LAHF ABM PREFETCHW; EDX SYSCALL NX 1GB-pages LM. */
	{ 0x80000001, 0, 0, ALL, 0, 0x00000121, 0x24100800 },
	{ 0x80000008, 0, 0, 0x0000ffff, 0, 0, 0 },
};

static void fill(const struct cpuid_mask *m, struct kvm_cpuid_entry2 *e)
{
	u32 eax = 0, ebx = 0, ecx = 0, edx = 0;

	if (m->function < KVM_CPUID_SIGNATURE || m->function > KVM_CPUID_FEATURES)
		cpuid_count(m->function, m->index, &eax, &ebx, &ecx, &edx);
	memset(e, 0, sizeof(*e));
	e->function = m->function;
	e->index = m->index;
	e->flags = m->flags;
	e->eax = eax & m->eax;
	e->ebx = ebx & m->ebx;
	e->ecx = ecx & m->ecx;
	e->edx = edx & m->edx;
	switch (m->function) {
	case 0x0:
		e->eax = min_t(u32, e->eax, 0x7);
		break;
	case 0x1:
		e->ecx |= BIT(X86_FEATURE_X2APIC & 31);
		break;
	case 0x7:
		e->eax = 0;		/* one subleaf */
		e->ebx |= BIT(X86_FEATURE_TSC_ADJUST & 31);
		break;
	case KVM_CPUID_FEATURES:
		/*
		 * NOP_IO_DELAY asks nothing of the host: the guest skips port
		 * 0x80 delays.  kvmclock (kvmclock.c) with a stable TSC, as
		 * KVM: the guest then takes its TSC rate from the pvclock
		 * instead of calibrating it against the PIT.
		 */
		e->eax = BIT(KVM_FEATURE_CLOCKSOURCE) | BIT(KVM_FEATURE_NOP_IO_DELAY) |
			 BIT(KVM_FEATURE_CLOCKSOURCE2) | BIT(KVM_FEATURE_CLOCKSOURCE_STABLE_BIT) |
			 BIT(KVM_FEATURE_STEAL_TIME);
		break;
	case KVM_CPUID_SIGNATURE:
		e->eax = KVM_CPUID_FEATURES;
		memcpy(&e->ebx, "KVMK", 4);
		memcpy(&e->ecx, "VMKV", 4);
		memcpy(&e->edx, "M\0\0\0", 4);
		break;
	case 0x80000000:
		e->eax = min_t(u32, e->eax, 0x80000008);
		break;
	}
}

long kvmx_get_supported_cpuid(struct kvm_cpuid2 __user *arg)
{
	struct kvm_cpuid_entry2 e;
	struct kvm_cpuid2 hdr;
	u32 i;

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < ARRAY_SIZE(supported))
		return kvmx_refuse(-E2BIG, "KVM_GET_SUPPORTED_CPUID", "%u entries, need %zu",
				   hdr.nent, ARRAY_SIZE(supported));
	for (i = 0; i < ARRAY_SIZE(supported); i++) {
		fill(&supported[i], &e);
		if (copy_to_user(&arg->entries[i], &e, sizeof(e)))
			return -EFAULT;
	}
	hdr.nent = ARRAY_SIZE(supported);
	return copy_to_user(arg, &hdr, sizeof(hdr)) ? -EFAULT : 0;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid_entry2 *entries, int n, u32 function,
				     u32 index)
{
	int i;

	for (i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];

		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index))
			return e;
	}
	return NULL;
}

/* The guest's CPUID entry for @function/@index, as exit.c answers CPUID. */
struct kvm_cpuid_entry2 *kvmx_find_cpuid(struct kvmx_vcpu *vcpu, u32 function, u32 index)
{
	return find(vcpu->cpuid, vcpu->nr_cpuid, function, index);
}

/*
 * KVM's kvm_update_cpuid_runtime(), the part kvmx has: with the quirk
 * KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT off, CPUID.1:ECX.MONITOR follows
 * IA32_MISC_ENABLE.MWAIT.  On the table KVM_SET_CPUID2 gives (before it
 * is compared with the old one) and when the MSR changes.
 */
void kvmx_update_cpuid_runtime(struct kvmx_vcpu *vcpu, struct kvm_cpuid_entry2 *entries, int n)
{
	struct kvm_cpuid_entry2 *e;

	if (kvmx_has_quirk(vcpu->vm, KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT))
		return;
	e = find(entries, n, 1, 0);
	if (!e)
		return;
	e->ecx &= ~BIT(X86_FEATURE_MWAIT & 31);
	if (vcpu->misc_enable & MSR_IA32_MISC_ENABLE_MWAIT)
		e->ecx |= BIT(X86_FEATURE_MWAIT & 31);
}

/* Does the guest's CPUID set @bit of register @reg (KVMX_CPUID_*)? */
bool kvmx_guest_cpuid_has(struct kvmx_vcpu *vcpu, u32 function, u32 index, int reg, int bit)
{
	const struct kvm_cpuid_entry2 *e = kvmx_find_cpuid(vcpu, function, index);
	u32 r;

	if (!e)
		return false;
	r = reg == KVMX_CPUID_EAX ? e->eax : reg == KVMX_CPUID_EBX ? e->ebx :
	    reg == KVMX_CPUID_ECX ? e->ecx : e->edx;
	return r & BIT(bit);
}

/*
 * KVM's guest_pv_has(): without KVM_CAP_ENFORCE_PV_FEATURE_CPUID every PV
 * feature works; with it, only those the guest's KVM_CPUID_FEATURES leaf
 * (after the "KVMKVMKVM" signature, which KVM looks for from 0x40000000 in
 * steps of 0x100) sets.
 */
bool kvmx_guest_pv_has(struct kvmx_vcpu *vcpu, int feature)
{
	const struct kvm_cpuid_entry2 *sig, *features;
	u32 base;

	if (!vcpu->enforce_pv_cpuid)
		return true;
	for (base = KVM_CPUID_SIGNATURE; base < 0x40010000; base += 0x100) {
		sig = kvmx_find_cpuid(vcpu, base, 0);
		if (!sig || memcmp(&sig->ebx, "KVMK", 4) || memcmp(&sig->ecx, "VMKV", 4) ||
		    memcmp(&sig->edx, "M\0\0\0", 4))
			continue;
		features = kvmx_find_cpuid(vcpu, base + 1, 0);
		return features && (features->eax & BIT(feature));
	}
	return false;
}
