/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmx's tracepoints: every VM exit and every guest RDMSR/WRMSR (as KVM's
 * kvm_exit and kvm_msr), MMIO SPTEs made, and each MMIO fault with the
 * path it took.  perf trace -e 'kvmx:*' or /sys/kernel/tracing/events/kvmx/.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kvmx

#if !defined(KVMX_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KVMX_TRACE_H

#include <linux/tracepoint.h>

struct kvmx_vm;
struct kvmx_vcpu;

TRACE_EVENT(kvmx_exit,
	    TP_PROTO(u32 vcpu_id, u32 reason, u64 rip, u64 qual, u32 intr_info),
	    TP_ARGS(vcpu_id, reason, rip, qual, intr_info),
	    TP_STRUCT__entry(__field(u32, vcpu_id)
			     __field(u32, reason)
			     __field(u64, rip)
			     __field(u64, qual)
			     __field(u32, intr_info)),
	    TP_fast_assign(__entry->vcpu_id = vcpu_id;
			   __entry->reason = reason;
			   __entry->rip = rip;
			   __entry->qual = qual;
			   __entry->intr_info = intr_info;),
	    TP_printk("vcpu %u reason %u rip 0x%llx qual 0x%llx intr_info 0x%x",
		      __entry->vcpu_id, __entry->reason, __entry->rip, __entry->qual,
		      __entry->intr_info)
);

TRACE_EVENT(kvmx_msr,
	    TP_PROTO(bool write, u32 index, u64 data, bool failed),
	    TP_ARGS(write, index, data, failed),
	    TP_STRUCT__entry(__field(bool, write)
			     __field(u32, index)
			     __field(u64, data)
			     __field(bool, failed)),
	    TP_fast_assign(__entry->write = write;
			   __entry->index = index;
			   __entry->data = data;
			   __entry->failed = failed;),
	    TP_printk("%s 0x%x data 0x%llx%s", __entry->write ? "wrmsr" : "rdmsr",
		      __entry->index, __entry->data, __entry->failed ? " (#GP)" : "")
);

TRACE_EVENT(kvmx_mmio_spte_create,
	    TP_PROTO(struct kvmx_vm *vm, u64 gfn, u64 gen),
	    TP_ARGS(vm, gfn, gen),
	    TP_STRUCT__entry(__field(void *, vm)
			     __field(u64, gfn)
			     __field(u64, gen)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->gfn = gfn;
			   __entry->gen = gen;),
	    TP_printk("vm %p gfn 0x%llx gen %llu", __entry->vm, __entry->gfn, __entry->gen)
);

TRACE_EVENT(kvmx_mmio_fault,
	    TP_PROTO(struct kvmx_vcpu *vcpu, u64 gpa, bool fast),
	    TP_ARGS(vcpu, gpa, fast),
	    TP_STRUCT__entry(__field(void *, vcpu)
			     __field(u64, gpa)
			     __field(bool, fast)),
	    TP_fast_assign(__entry->vcpu = vcpu;
			   __entry->gpa = gpa;
			   __entry->fast = fast;),
	    TP_printk("vcpu %p gpa 0x%llx %s", __entry->vcpu, __entry->gpa,
		      __entry->fast ? "fast (cached, no memslot search)" : "slow (memslot search)")
);

#endif /* KVMX_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
