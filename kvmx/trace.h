/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmx's tracepoints: MMIO SPTEs made, and each MMIO fault with the path
 * it took.  perf trace -e 'kvmx:*' or /sys/kernel/tracing/events/kvmx/.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kvmx

#if !defined(KVMX_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KVMX_TRACE_H

#include <linux/tracepoint.h>

struct kvmx_vm;
struct kvmx_vcpu;

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
