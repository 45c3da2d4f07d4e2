// Package job runs background work from a durable queue in Gatehouse's own
// database, so a slow SMTP server or webhook never holds up a request, work
// survives restarts, and no Redis or separate worker process is needed.
//
// A request enqueues a job (a kind and a JSON payload) and returns; Run, in
// every replica, claims due jobs and calls the handler registered for the
// kind. The guarantees, and how they are kept:
//
//   - A job caused by a store write commits with it. EnqueueTx inserts the
//     job's row through the store transaction's own connection
//     (store.Scope.Conn), so a rolled-back write leaves no job behind and a
//     committed one cannot lose its job to a crash in between; on SQLite a
//     second connection would wait for the transaction's write lock. Run is
//     woken after the commit (Scope.AfterCommit), not before it.
//   - At most one replica runs a job at a time. On PostgreSQL a claim is an
//     UPDATE of rows selected FOR UPDATE SKIP LOCKED, so replicas polling
//     together take different jobs without waiting on each other; SQLite has
//     one writer at a time, so a single UPDATE ... RETURNING is already
//     atomic.
//   - Work is not lost when a replica dies. A claimed job carries a lease
//     (locked_until: its kind's timeout plus a margin); any replica resets
//     jobs whose lease has passed, and they are retried.
//   - Failures are retried with exponential backoff and jitter, capped at an
//     hour, up to a per-kind number of attempts (5 by default, as Authentik's
//     worker). The last error is kept on the row, truncated to 1 KiB, for the
//     admin's job list; handlers must not put secrets in errors.
//   - A result is recorded only by the claim that is still current (the
//     attempts counter acts as a fencing token), so a worker that outlived
//     its lease cannot overwrite the outcome of the retry.
//   - Delivery is at least once: a handler that did its work but crashed
//     before reporting will run again. Handlers must be idempotent or cheap
//     to repeat (sending an email twice is acceptable; charging twice is not).
//
// Schedules are periodic functions that run once per period across all
// replicas: a row per schedule holds next_run, and a replica runs the
// function only after a compare-and-swap UPDATE moved next_run forward.
// A built-in schedule deletes finished jobs (done after a day, failed after
// 30 days).
//
// Dependencies, and why: database/sql, the schema in
// internal/store/sqlstore/migrations (00003_jobs.sql), and package store
// for its time codec (store.Micros) and the Scope whose transaction
// EnqueueTx joins; store is the innermost package, so the queue stays
// below everything that enqueues. The architecture
// first named River for PostgreSQL; a queue of a few hundred lines on the
// tables we already migrate serves both engines with one code path, keeps
// SQLite a first-class single-binary deployment, and needs no second
// migration system or advisory-lock schedules. If throughput ever demands
// more (it is email and webhooks today), River remains the upgrade path.
package job
