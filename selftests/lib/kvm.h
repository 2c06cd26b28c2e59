// SPDX-License-Identifier: GPL-2.0
// <linux/kvm.h> for C++.  Include this, never <linux/kvm.h> directly.
//
// Debian 12's headers (Linux 6.1) declare trailing flexible arrays with
// __DECLARE_FLEX_ARRAY, which wraps them in a struct holding an empty
// struct.  In C that member has size 0; in C++ it has size 1, so sizeof()
// of those structs grows, and with it every ioctl number built from them:
// C++ code would send, e.g., KVM_GET_SUPPORTED_CPUID as 0xc00cae05 where
// the kernel knows 0xc008ae05.  The array itself also starts 4 bytes late
// in C++, so never use kvm_cpuid2::entries, kvm_msrs::entries or
// kvm_msr_list::indices: use the fixed-size C-layout types below.  The
// ioctl numbers are rebuilt from the C layout and checked against the
// values the kernel uses.
#pragma once

#include <cstddef>
#include <linux/kvm.h>

namespace kvmx::abi {
template <std::size_t N> struct cpuid2 {
	__u32 nent = N;
	__u32 padding = 0;
	kvm_cpuid_entry2 entries[N] = {};
};
template <std::size_t N> struct msrs {
	__u32 nmsrs = N;
	__u32 pad = 0;
	kvm_msr_entry entries[N] = {};
};
template <std::size_t N> struct msr_list {
	__u32 nmsrs = N;
	__u32 indices[N] = {};
};
static_assert(offsetof(cpuid2<1>, entries) == 8);
static_assert(offsetof(msrs<1>, entries) == 8);
static_assert(offsetof(msr_list<1>, indices) == 4);

struct cpuid2_head {
	__u32 nent;
	__u32 padding;
};
struct msrs_head {
	__u32 nmsrs;
	__u32 pad;
};
struct msr_list_head {
	__u32 nmsrs;
};
struct signal_mask_head {
	__u32 len;
};
struct reg_list_head {
	__u64 n;
};
} // namespace kvmx::abi

#undef KVM_GET_SUPPORTED_CPUID
#undef KVM_GET_EMULATED_CPUID
#undef KVM_SET_CPUID2
#undef KVM_GET_CPUID2
#undef KVM_GET_MSRS
#undef KVM_SET_MSRS
#undef KVM_GET_MSR_INDEX_LIST
#undef KVM_GET_MSR_FEATURE_INDEX_LIST
#undef KVM_SET_SIGNAL_MASK
#undef KVM_GET_REG_LIST
#define KVM_GET_SUPPORTED_CPUID _IOWR(KVMIO, 0x05, kvmx::abi::cpuid2_head)
#define KVM_GET_EMULATED_CPUID _IOWR(KVMIO, 0x09, kvmx::abi::cpuid2_head)
#define KVM_SET_CPUID2 _IOW(KVMIO, 0x90, kvmx::abi::cpuid2_head)
#define KVM_GET_CPUID2 _IOWR(KVMIO, 0x91, kvmx::abi::cpuid2_head)
#define KVM_GET_MSRS _IOWR(KVMIO, 0x88, kvmx::abi::msrs_head)
#define KVM_SET_MSRS _IOW(KVMIO, 0x89, kvmx::abi::msrs_head)
#define KVM_GET_MSR_INDEX_LIST _IOWR(KVMIO, 0x02, kvmx::abi::msr_list_head)
#define KVM_GET_MSR_FEATURE_INDEX_LIST _IOWR(KVMIO, 0x0a, kvmx::abi::msr_list_head)
#define KVM_SET_SIGNAL_MASK _IOW(KVMIO, 0x8b, kvmx::abi::signal_mask_head)
#define KVM_GET_REG_LIST _IOWR(KVMIO, 0xb0, kvmx::abi::reg_list_head)

static_assert(KVM_GET_SUPPORTED_CPUID == 0xc008ae05);
static_assert(KVM_SET_CPUID2 == 0x4008ae90);
static_assert(KVM_GET_MSRS == 0xc008ae88);
static_assert(KVM_SET_MSRS == 0x4008ae89);
static_assert(KVM_GET_MSR_INDEX_LIST == 0xc004ae02);
