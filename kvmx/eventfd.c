// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_IOEVENTFD and KVM_IRQFD: eventfds as doorbells between the guest
 * and other threads, KVM's semantics (virt/kvm/eventfd.c in Linux 6.1).
 *
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
#include <linux/file.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "kvmx.h"
#include "iobus.h"
#include "irq/irq.h"

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

/* The registration @args describes, holding a reference to its eventfd. */
static int reg_of(const struct kvm_ioeventfd *args, struct kvmx_io_reg *reg)
{
	struct eventfd_ctx *eventfd = eventfd_ctx_fdget(args->fd);

	if (IS_ERR(eventfd))
		return kvmx_refuse(PTR_ERR(eventfd), "KVM_IOEVENTFD", "fd %d is not an eventfd",
				   args->fd);
	*reg = kvmx_io_reg_of(args->addr, args->len, args->flags, args->datamatch);
	reg->eventfd = eventfd;
	return 0;
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
	r = reg_of(args, &reg);
	if (r)
		return r;
	eventfd = reg.eventfd;

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
	int idx, r;

	r = reg_of(args, &reg);
	if (r)
		return r;
	eventfd = reg.eventfd;

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

/* kvmx_ioeventfd_write() (kvmx.h) on a bus with registrations. */
bool __kvmx_ioeventfd_write(struct kvmx_vm *vm, enum kvmx_iobus_id bus, u64 addr, u32 len,
			    const void *data)
{
	const struct kvmx_iobus *b;
	bool hit = false;
	int idx, i;

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

/*
 * KVM_IRQFD: a signal on the eventfd sets a GSI of the in-kernel irqchip.
 *
 * An irqfd hooks a wait-queue entry into its eventfd.  The wakeup callback
 * runs in whatever context signalled the eventfd, under the eventfd's
 * wait-queue lock with interrupts off, so it only queues @inject (delivery
 * may sleep) or, when the eventfd is closing (EPOLLHUP), deactivates the
 * irqfd.  Deactivation (under vm->irqfds.lock) takes the irqfd off the
 * VM's list and queues its @shutdown on irqfd_cleanup_wq, which unhooks it
 * from the eventfd, waits for @inject and frees it.  Deassignment and VM
 * destruction flush that workqueue, so when they return no injection for
 * those irqfds runs or will run; irqfds hold no VM reference.
 *
 * Assignment publishes the irqfd on the list before it hooks it into the
 * eventfd (vfs_poll()), inside a vm->srcu read section; a shutdown that
 * races with it (a deassignment in between) first waits for that section
 * with synchronize_srcu_expedited(), so it never unhooks an entry that is
 * not yet hooked.
 *
 * Delivery is the irqchip's kvmx_irq_set() (kvmx/irq/irq.h): a pulse, 1
 * then 0, as KVM's irqfd_inject() for an irqfd without a resampler.  As in
 * KVM, an irqfd needs an in-kernel LAPIC (KVM_CREATE_IRQCHIP or the split
 * irqchip), else -EINVAL.  KVM_IRQFD_FLAG_RESAMPLE is refused with -EINVAL:
 * it needs ack notifiers and an IRQ source of its own from the irqchip,
 * which does not have them yet (KVM accepts it with KVM_CREATE_IRQCHIP).
 */
struct kvmx_irqfd {
	struct kvmx_vm *vm;
	u32 gsi;
	struct eventfd_ctx *eventfd;
	struct list_head list;		/* on vm->irqfds.items; empty once deactivated */
	wait_queue_entry_t wait;	/* in the eventfd's wait queue */
	poll_table pt;
	struct work_struct inject;	/* on system_wq */
	struct work_struct shutdown;	/* on irqfd_cleanup_wq */
};

static struct workqueue_struct *irqfd_cleanup_wq;

int kvmx_irqfd_init(void)
{
	irqfd_cleanup_wq = alloc_workqueue("kvmx-irqfd-cleanup", 0, 0);
	return irqfd_cleanup_wq ? 0 : -ENOMEM;
}

void kvmx_irqfd_exit(void)
{
	destroy_workqueue(irqfd_cleanup_wq);
}

void kvmx_irqfd_vm_init(struct kvmx_vm *vm)
{
	spin_lock_init(&vm->irqfds.lock);
	INIT_LIST_HEAD(&vm->irqfds.items);
}

/* KVM's kvm_arch_irqfd_allowed(), less resampling (see above). */
static bool irqfd_allowed(struct kvmx_vm *vm, bool resample)
{
	return !resample && kvmx_irqchip_in_kernel(vm);
}

/* On system_wq: kvmx_irq_set() may sleep. */
static void irqfd_inject(struct work_struct *work)
{
	struct kvmx_irqfd *irqfd = container_of(work, struct kvmx_irqfd, inject);

	kvmx_irq_set(irqfd->vm, irqfd->gsi, 1, false);
	kvmx_irq_set(irqfd->vm, irqfd->gsi, 0, false);
}

static void irqfd_shutdown(struct work_struct *work)
{
	struct kvmx_irqfd *irqfd = container_of(work, struct kvmx_irqfd, shutdown);
	u64 cnt;

	/* An assignment still hooking this irqfd into its eventfd has done so. */
	synchronize_srcu_expedited(&irqfd->vm->srcu);
	eventfd_ctx_remove_wait_queue(irqfd->eventfd, &irqfd->wait, &cnt);
	/* No new injection can be queued now; wait for the last one. */
	flush_work(&irqfd->inject);
	eventfd_ctx_put(irqfd->eventfd);
	kfree(irqfd);
	atomic_long_dec(&kvmx_counts.irqfds);
}

/* Under vm->irqfds.lock, with an irqfd still on the list. */
static void irqfd_deactivate(struct kvmx_irqfd *irqfd)
{
	list_del_init(&irqfd->list);
	queue_work(irqfd_cleanup_wq, &irqfd->shutdown);
}

/* Under the eventfd's wait-queue lock, interrupts off. */
static int irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode, int sync, void *key)
{
	struct kvmx_irqfd *irqfd = container_of(wait, struct kvmx_irqfd, wait);
	__poll_t flags = key_to_poll(key);
	struct kvmx_vm *vm = irqfd->vm;
	unsigned long iflags;

	if (flags & EPOLLIN)
		schedule_work(&irqfd->inject);
	if (flags & EPOLLHUP) {
		/* The eventfd is closing; the VM side may have deactivated it already. */
		spin_lock_irqsave(&vm->irqfds.lock, iflags);
		if (!list_empty(&irqfd->list))
			irqfd_deactivate(irqfd);
		spin_unlock_irqrestore(&vm->irqfds.lock, iflags);
	}
	return 0;
}

static void irqfd_ptable_queue_proc(struct file *file, wait_queue_head_t *wqh, poll_table *pt)
{
	struct kvmx_irqfd *irqfd = container_of(pt, struct kvmx_irqfd, pt);

	add_wait_queue(wqh, &irqfd->wait);
}

static int irqfd_assign(struct kvmx_vm *vm, const struct kvm_irqfd *args)
{
	bool resample = args->flags & KVM_IRQFD_FLAG_RESAMPLE;
	struct kvmx_irqfd *irqfd, *tmp;
	struct eventfd_ctx *eventfd;
	__poll_t events;
	struct fd f;
	int r, idx;

	if (!irqfd_allowed(vm, resample))
		return kvmx_refuse(-EINVAL, "KVM_IRQFD", "%s",
				   resample ? "RESAMPLE is not supported yet" :
					      "the VM has no in-kernel irqchip");
	irqfd = kzalloc(sizeof(*irqfd), GFP_KERNEL_ACCOUNT);
	if (!irqfd)
		return kvmx_refuse(-ENOMEM, "KVM_IRQFD", "no memory");
	irqfd->vm = vm;
	irqfd->gsi = args->gsi;
	INIT_LIST_HEAD(&irqfd->list);
	INIT_WORK(&irqfd->inject, irqfd_inject);
	INIT_WORK(&irqfd->shutdown, irqfd_shutdown);
	init_waitqueue_func_entry(&irqfd->wait, irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, irqfd_ptable_queue_proc);

	f = fdget(args->fd);
	if (!f.file) {
		r = kvmx_refuse(-EBADF, "KVM_IRQFD", "fd %u is not open", args->fd);
		goto free;
	}
	eventfd = eventfd_ctx_fileget(f.file);
	if (IS_ERR(eventfd)) {
		r = kvmx_refuse(PTR_ERR(eventfd), "KVM_IRQFD", "fd %u is not an eventfd",
				args->fd);
		goto put_file;
	}
	irqfd->eventfd = eventfd;

	spin_lock_irq(&vm->irqfds.lock);
	list_for_each_entry(tmp, &vm->irqfds.items, list) {
		if (tmp->eventfd == eventfd) {
			spin_unlock_irq(&vm->irqfds.lock);
			r = kvmx_refuse(-EBUSY, "KVM_IRQFD", "fd %u already injects GSI %u",
					args->fd, tmp->gsi);
			goto put_eventfd;
		}
	}
	idx = srcu_read_lock(&vm->srcu);
	list_add_tail(&irqfd->list, &vm->irqfds.items);
	spin_unlock_irq(&vm->irqfds.lock);
	atomic_long_inc(&kvmx_counts.irqfds);

	/* A signal that came before the assignment is not lost. */
	events = vfs_poll(f.file, &irqfd->pt);
	if (events & EPOLLIN)
		schedule_work(&irqfd->inject);
	srcu_read_unlock(&vm->srcu, idx);
	/* Only now: the file must not go (EPOLLHUP) before the irqfd is hooked. */
	fdput(f);
	return 0;

put_eventfd:
	eventfd_ctx_put(eventfd);
put_file:
	fdput(f);
free:
	kfree(irqfd);
	return r;
}

/* Deactivates every irqfd of @eventfd on GSI @gsi; as KVM, 0 when there is none. */
static int irqfd_deassign(struct kvmx_vm *vm, const struct kvm_irqfd *args)
{
	struct kvmx_irqfd *irqfd, *tmp;
	struct eventfd_ctx *eventfd;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return kvmx_refuse(PTR_ERR(eventfd), "KVM_IRQFD", "fd %u is not an eventfd",
				   args->fd);
	spin_lock_irq(&vm->irqfds.lock);
	list_for_each_entry_safe(irqfd, tmp, &vm->irqfds.items, list)
		if (irqfd->eventfd == eventfd && irqfd->gsi == args->gsi)
			irqfd_deactivate(irqfd);
	spin_unlock_irq(&vm->irqfds.lock);
	eventfd_ctx_put(eventfd);
	/* When this returns, nothing more is injected for what it removed. */
	flush_workqueue(irqfd_cleanup_wq);
	return 0;
}

int kvmx_irqfd(struct kvmx_vm *vm, const struct kvm_irqfd *args)
{
	if (args->flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE))
		return kvmx_refuse(-EINVAL, "KVM_IRQFD", "unknown flags 0x%x", args->flags);
	if (args->flags & KVM_IRQFD_FLAG_DEASSIGN)
		return irqfd_deassign(vm, args);
	return irqfd_assign(vm, args);
}

/* The VM is going: shut every irqfd down and wait until they are gone. */
void kvmx_irqfd_release(struct kvmx_vm *vm)
{
	struct kvmx_irqfd *irqfd, *tmp;

	spin_lock_irq(&vm->irqfds.lock);
	list_for_each_entry_safe(irqfd, tmp, &vm->irqfds.items, list)
		irqfd_deactivate(irqfd);
	spin_unlock_irq(&vm->irqfds.lock);
	flush_workqueue(irqfd_cleanup_wq);
}
