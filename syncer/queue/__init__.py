"""Syncs across processes and machines on a task queue (Dramatiq, Redis as the broker).

    queue = open_queue("redis://127.0.0.1:6379/0")          # ConfigError if not usable
    tasks = SyncTasks(queue.broker)                         # the scheduler's side: enqueue only
    tasks.enqueue(SyncTask("VIP customers", "shop-mailchimp/a1b2/vip"))
    tasks = SyncTasks(queue.broker, run=runner.run)         # a worker's side: runs them

One task is one (segment, destination) run. Exactly-once effect does not come from the queue
(it delivers at least once: late acknowledgement, re-delivery after a worker dies) but from the
state database's lock and outbox, as for every run: a second delivery finds the work done (an
empty diff) or the lock held (retried later), never sends anything twice.
"""
