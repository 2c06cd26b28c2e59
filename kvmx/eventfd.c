// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_IOEVENTFD: a guest write to a registered port or MMIO address
 * signals an eventfd in the kernel, and the guest carries on without an
 * exit to user space.  KVM's semantics (virt/kvm/eventfd.c); the rules for
 * matching and collisions are pure code in iobus.c.
 *
 * Locking (the data is in struct kvmx_vm): updates hold vm->lock, build a
 * new array, publish it with rcu_assign_pointer() and wait for the exit
 * paths with synchronize_srcu_expedited() before freeing the old array and
 * putting the eventfd of a removed registration.  The exit paths
 * (kvmx_ioeventfd_write()) hold vm->srcu around the lookup and the
 * eventfd_signal(), so the eventfd they signal is alive.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "kvmx.h"
#include "iobus.h"

static const char *const bus_name[KVMX_NR_IOBUS] = {
	[KVMX_IOBUS_MMIO] = "MMIO",
	[KVMX_IOBUS_PIO] = "PIO",
	[KVMX_IOBUS_CCW] = "virtio-ccw",
};

static struct kvmx_iobus *bus_locked(struct kvmx_vm *vm, enum kvmx_iobus_id id)
{
	return rcu_dereference_protected(vm->iobus[id], lockdep_is_held(&vm->lock));
}

/* Publishes @new (NULL: empty) as bus @id, waits for readers, frees the old one. */
static void bus_replace(struct kvmx_vm *vm, enum kvmx_iobus_id id, struct kvmx_iobus *new)
{
	struct kvmx_iobus *old = bus_locked(vm, id);

	rcu_assign_pointer(vm->iobus[id], new);
	synchronize_srcu_expedited(&vm->srcu);
	kvfree(old);
}

static struct kvmx_iobus *bus_alloc(u32 nr)
{
	if (!nr)
		return NULL;
	return kvmalloc(kvmx_iobus_bytes(nr), GFP_KERNEL_ACCOUNT);
}

static int assign(struct kvmx_vm *vm, const struct kvm_ioeventfd *args)
{
	enum kvmx_iobus_id id = kvmx_ioeventfd_bus(args->flags);
	struct kvmx_iobus *old, *new;
	struct eventfd_ctx *eventfd;
	struct kvmx_io_reg reg;
	int r = 0;

	switch (kvmx_ioeventfd_check(args->addr, args->len, args->flags)) {
	case KVMX_IOEV_OK:
		break;
	case KVMX_IOEV_BAD_LEN:
		return kvmx_refuse(-EINVAL, "KVM_IOEVENTFD", "length %u is not 0, 1, 2, 4 or 8",
				   args->len);
	case KVMX_IOEV_OVERFLOW:
		return kvmx_refuse(-EINVAL, "KVM_IOEVENTFD", "0x%llx + %u wraps", args->addr,
				   args->len);
	case KVMX_IOEV_BAD_FLAGS:
		return kvmx_refuse(-EINVAL, "KVM_IOEVENTFD", "unknown flags 0x%x", args->flags);
	default:
		return kvmx_refuse(-EINVAL, "KVM_IOEVENTFD", "length 0 with DATAMATCH");
	}
	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return kvmx_refuse(PTR_ERR(eventfd), "KVM_IOEVENTFD", "fd %d is not an eventfd",
				   args->fd);
	reg = kvmx_io_reg_of(args->addr, args->len, args->flags, args->datamatch);
	reg.eventfd = eventfd;

	mutex_lock(&vm->lock);
	old = bus_locked(vm, id);
	if (kvmx_iobus_collides(old, &reg)) {
		r = kvmx_refuse(-EEXIST, "KVM_IOEVENTFD",
				"%s 0x%llx length %u: overlaps a registration", bus_name[id],
				args->addr, args->len);
		goto out;
	}
	new = bus_alloc((old ? old->nr : 0) + 1);
	if (!new) {
		r = kvmx_refuse(-ENOMEM, "KVM_IOEVENTFD", "no memory");
		goto out;
	}
	kvmx_iobus_insert(new, old, &reg);
	bus_replace(vm, id, new);
	atomic_long_inc(&kvmx_counts.ioeventfds);
	eventfd = NULL;		/* the registration owns the reference now */
out:
	mutex_unlock(&vm->lock);
	if (eventfd)
		eventfd_ctx_put(eventfd);
	return r;
}

static int deassign(struct kvmx_vm *vm, const struct kvm_ioeventfd *args)
{
	enum kvmx_iobus_id id = kvmx_ioeventfd_bus(args->flags);
	struct kvmx_iobus *old, *new;
	struct eventfd_ctx *eventfd;
	struct kvmx_io_reg reg;
	int idx, r = 0;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return kvmx_refuse(PTR_ERR(eventfd), "KVM_IOEVENTFD", "fd %d is not an eventfd",
				   args->fd);
	reg = kvmx_io_reg_of(args->addr, args->len, args->flags, args->datamatch);
	reg.eventfd = eventfd;

	mutex_lock(&vm->lock);
	old = bus_locked(vm, id);
	idx = kvmx_iobus_find_exact(old, &reg);
	if (idx < 0) {
		r = kvmx_refuse(-ENOENT, "KVM_IOEVENTFD",
				"DEASSIGN %s 0x%llx length %u: no such registration",
				bus_name[id], args->addr, args->len);
		goto out;
	}
	new = bus_alloc(old->nr - 1);
	if (old->nr > 1 && !new) {
		r = kvmx_refuse(-ENOMEM, "KVM_IOEVENTFD", "no memory");
		goto out;
	}
	if (new)
		kvmx_iobus_remove(new, old, idx);
	/* @old stays readable until bus_replace() has waited for readers. */
	reg = old->regs[idx];
	bus_replace(vm, id, new);
	eventfd_ctx_put(reg.eventfd);
	atomic_long_dec(&kvmx_counts.ioeventfds);
out:
	mutex_unlock(&vm->lock);
	eventfd_ctx_put(eventfd);
	return r;
}

int kvmx_ioeventfd(struct kvmx_vm *vm, const struct kvm_ioeventfd *args)
{
	BUILD_BUG_ON(KVMX_IOEVENTFD_FLAG_DATAMATCH != KVM_IOEVENTFD_FLAG_DATAMATCH);
	BUILD_BUG_ON(KVMX_IOEVENTFD_FLAG_PIO != KVM_IOEVENTFD_FLAG_PIO);
	BUILD_BUG_ON(KVMX_IOEVENTFD_FLAG_DEASSIGN != KVM_IOEVENTFD_FLAG_DEASSIGN);
	BUILD_BUG_ON(KVMX_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY !=
		     KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY);
	BUILD_BUG_ON(KVMX_IOEVENTFD_VALID_FLAGS != KVM_IOEVENTFD_VALID_FLAG_MASK);

	/* As KVM: a deassignment checks nothing but that it names a registration. */
	if (args->flags & KVM_IOEVENTFD_FLAG_DEASSIGN)
		return deassign(vm, args);
	return assign(vm, args);
}

/* The VM is going: no vCPU runs and no ioctl is in flight. */
void kvmx_ioeventfd_destroy(struct kvmx_vm *vm)
{
	struct kvmx_iobus *bus;
	int id;
	u32 i;

	for (id = 0; id < KVMX_NR_IOBUS; id++) {
		bus = rcu_dereference_protected(vm->iobus[id], true);
		if (!bus)
			continue;
		for (i = 0; i < bus->nr; i++) {
			eventfd_ctx_put(bus->regs[i].eventfd);
			atomic_long_dec(&kvmx_counts.ioeventfds);
		}
		kvfree(bus);
		RCU_INIT_POINTER(vm->iobus[id], NULL);
	}
}

/*
 * A guest write of @len bytes at @data to @addr on @bus: signal the
 * registration it hits, if any.  Returns whether one was hit (the write is
 * then done).  Called from a vCPU's exit path, preemptible.
 */
bool kvmx_ioeventfd_write(struct kvmx_vm *vm, enum kvmx_iobus_id bus, u64 addr, u32 len,
			  const void *data)
{
	const struct kvmx_iobus *b;
	bool hit = false;
	int idx, i;

	/* Most VMs register nothing on most buses: no SRCU section then. */
	if (!rcu_access_pointer(vm->iobus[bus]))
		return false;
	idx = srcu_read_lock(&vm->srcu);
	b = srcu_dereference(vm->iobus[bus], &vm->srcu);
	i = kvmx_iobus_find(b, addr, len, kvmx_io_value(data, len));
	if (i >= 0) {
		eventfd_signal(b->regs[i].eventfd, 1);
		hit = true;
	}
	srcu_read_unlock(&vm->srcu, idx);
	return hit;
}

