-- The durable job queue and singleton schedules of internal/job. Jobs are not
-- tenant-owned rows in the store's sense: tenant_id only says on whose behalf
-- a job runs, so it has no foreign key (a job for a deleted tenant fails in
-- its handler instead of blocking the tenant's deletion).

-- +goose Up
CREATE TABLE jobs (
    id            {{uuid}} PRIMARY KEY,
    tenant_id     {{uuid}},
    kind          TEXT NOT NULL,
    payload       {{json}} NOT NULL,
    -- NULL unless enqueued with job.Unique; see jobs_unique.
    unique_key    TEXT,
    -- pending | running | done | failed
    state         TEXT NOT NULL DEFAULT 'pending',
    -- attempts counts claims; a result is only recorded by the claim whose
    -- count is still current, so a worker whose lease expired cannot
    -- overwrite the outcome of the retry.
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    run_at        BIGINT NOT NULL,
    -- lease of a running job; after it another replica may retry the job
    locked_until  BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- The claim query: due pending jobs, oldest first.
CREATE INDEX jobs_pending ON jobs (run_at) WHERE state = 'pending';
-- Finding running jobs whose lease expired.
CREATE INDEX jobs_running ON jobs (locked_until) WHERE state = 'running';
-- Retention and the admin list.
CREATE INDEX jobs_state ON jobs (state, updated_at);
-- job.Unique: at most one queued or running job per kind and key. The
-- predicate is repeated verbatim in the INSERT's ON CONFLICT clause.
CREATE UNIQUE INDEX jobs_unique ON jobs (kind, unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('pending', 'running');

-- Periodic work that must run once per period across all replicas: a
-- replica runs a schedule only after moving next_run forward with a
-- compare-and-swap UPDATE.
CREATE TABLE schedules (
    name          TEXT PRIMARY KEY,
    next_run      BIGINT NOT NULL,
    locked_until  BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE schedules;
DROP TABLE jobs;
