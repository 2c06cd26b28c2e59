// SPDX-License-Identifier: GPL-2.0
// <linux/kvm.h> for C++.  Since Linux 6.1's uapi headers (linux-libc-dev
// 6.1.x), the structs with a flexible array declare it through
// __DECLARE_FLEX_ARRAY, an anonymous struct holding an empty struct and the
// array.  An empty struct has size 0 in C but 1 in C++, so in C++ these
// structs grow and their arrays move (struct kvm_cpuid2 is 12 bytes, its
// entries at offset 12 instead of 8), and every ioctl number built from
// their sizeof is one the kernel does not know: KVM answers -EINVAL.
//
// Selftests include this instead of <linux/kvm.h>: it defines the C layout
// of those headers and redefines the ioctl numbers with the C sizes.
#pragma once

#include <cstdint>
#include <linux/kvm.h>

namespace kvmx::abi {

// struct kvm_cpuid2, kvm_msrs, kvm_msr_list, kvm_signal_mask without the
// array; the array starts right after the header.
struct Cpuid2 {
	uint32_t nent;
	uint32_t padding;
};
struct Msrs {
	uint32_t nmsrs;
	uint32_t pad;
};
struct MsrList {
	uint32_t nmsrs;
};
struct SignalMask {
	uint32_t len;
};
struct IrqRouting {
	uint32_t nr;
	uint32_t flags;
};
// struct kvm_xsave without its (empty) extra[]: 4 KiB.
struct Xsave {
	uint32_t region[1024];
};
static_assert(sizeof(Cpuid2) == 8 && sizeof(Msrs) == 8 && sizeof(MsrList) == 4 &&
	      sizeof(SignalMask) == 4);

template <typename Entry, typename Header> Entry *entries_of(Header *h)
{
	return reinterpret_cast<Entry *>(reinterpret_cast<uint8_t *>(h) + sizeof(Header));
}

} // namespace kvmx::abi

#undef KVM_GET_MSR_INDEX_LIST
#undef KVM_GET_MSR_FEATURE_INDEX_LIST
#undef KVM_GET_SUPPORTED_CPUID
#undef KVM_GET_EMULATED_CPUID
#undef KVM_SET_CPUID2
#undef KVM_GET_CPUID2
#undef KVM_GET_MSRS
#undef KVM_SET_MSRS
#undef KVM_SET_SIGNAL_MASK
#undef KVM_SET_GSI_ROUTING
#undef KVM_GET_XSAVE
#undef KVM_SET_XSAVE
#define KVM_GET_XSAVE _IOR(KVMIO, 0xa4, kvmx::abi::Xsave)
#define KVM_SET_XSAVE _IOW(KVMIO, 0xa5, kvmx::abi::Xsave)
#define KVM_SET_GSI_ROUTING _IOW(KVMIO, 0x6a, kvmx::abi::IrqRouting)
#define KVM_GET_MSR_INDEX_LIST _IOWR(KVMIO, 0x02, kvmx::abi::MsrList)
#define KVM_GET_MSR_FEATURE_INDEX_LIST _IOWR(KVMIO, 0x0a, kvmx::abi::MsrList)
#define KVM_GET_SUPPORTED_CPUID _IOWR(KVMIO, 0x05, kvmx::abi::Cpuid2)
#define KVM_GET_EMULATED_CPUID _IOWR(KVMIO, 0x09, kvmx::abi::Cpuid2)
#define KVM_SET_CPUID2 _IOW(KVMIO, 0x90, kvmx::abi::Cpuid2)
#define KVM_GET_CPUID2 _IOWR(KVMIO, 0x91, kvmx::abi::Cpuid2)
#define KVM_GET_MSRS _IOWR(KVMIO, 0x88, kvmx::abi::Msrs)
#define KVM_SET_MSRS _IOW(KVMIO, 0x89, kvmx::abi::Msrs)
#define KVM_SET_SIGNAL_MASK _IOW(KVMIO, 0x8b, kvmx::abi::SignalMask)

static_assert(KVM_GET_SUPPORTED_CPUID == 0xc008ae05UL);
static_assert(KVM_SET_CPUID2 == 0x4008ae90UL);
static_assert(KVM_GET_MSRS == 0xc008ae88UL);
static_assert(KVM_SET_SIGNAL_MASK == 0x4004ae8bUL);
static_assert(KVM_GET_XSAVE == 0x9000aea4UL);
