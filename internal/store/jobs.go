package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"greenroom/internal/greenroom"
)

// The states of a job. A job is queued until a worker claims it, running
// while a worker holds its lease, and finally done or failed (attempts
// exhausted).
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// DefaultMaxAttempts is a new job's MaxAttempts when NewJob leaves it zero.
const DefaultMaxAttempts = 10

// maxErrorLen bounds last_error: a handler's error may be a whole response
// body.
const maxErrorLen = 4096

// NewJob describes a job to enqueue.
type NewJob struct {
	Kind string
	// Payload is the job's JSON argument; nil means JSON null.
	Payload []byte
	// RunAt is the earliest time the job may run; zero means now.
	RunAt time.Time
	// MaxAttempts is how many times the job may run before it fails for
	// good; zero means DefaultMaxAttempts.
	MaxAttempts int
	// DedupeKey, when set, makes EnqueueJob return the existing job with the
	// same key if that job is still queued or running.
	DedupeKey string
}

// Job is a stored job.
type Job struct {
	ID          int64
	Kind        string
	Payload     []byte
	DedupeKey   string
	State       string
	RunAt       time.Time
	Attempts    int
	MaxAttempts int
	// LockedBy is the worker that claimed the job last.
	LockedBy string
	// LockedUntil is when the running job's lease expires; zero otherwise.
	LockedUntil time.Time
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	FinishedAt  time.Time
}

const jobColumns = "id, kind, payload, dedupe_key, state, run_at, attempts, max_attempts, locked_by, locked_until, last_error, created_at, updated_at, finished_at"

func scanJob(sc scanner) (Job, error) {
	var (
		j                           Job
		payload                     string
		dedupe, lockedBy, lastError sql.NullString
	)
	err := sc.Scan(&j.ID, &j.Kind, &payload, &dedupe, &j.State, timeCol{&j.RunAt}, &j.Attempts, &j.MaxAttempts,
		&lockedBy, timeCol{&j.LockedUntil}, &lastError, timeCol{&j.CreatedAt}, timeCol{&j.UpdatedAt}, timeCol{&j.FinishedAt})
	j.Payload = []byte(payload)
	j.DedupeKey, j.LockedBy, j.LastError = dedupe.String, lockedBy.String, lastError.String
	return j, err
}

// EnqueueJob stores a new queued job and returns its id. When the dedupe
// key is set and a queued or running job has it, that job's id is returned
// and nothing is stored. An empty kind, a payload that is not JSON or a
// negative MaxAttempts is greenroom.CodeInvalid.
func (s *Store) EnqueueJob(ctx context.Context, nj NewJob) (int64, error) {
	switch {
	case nj.Kind == "":
		return 0, greenroom.Errorf(greenroom.CodeInvalid, "job kind is empty")
	case nj.MaxAttempts < 0:
		return 0, greenroom.Errorf(greenroom.CodeInvalid, "job max attempts %d is negative", nj.MaxAttempts)
	case nj.Payload != nil && !json.Valid(nj.Payload):
		return 0, greenroom.Errorf(greenroom.CodeInvalid, "job %s payload is not valid JSON", nj.Kind)
	}
	payload := "null"
	if nj.Payload != nil {
		payload = string(nj.Payload)
	}
	maxAttempts := nj.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = DefaultMaxAttempts
	}
	var dedupe any
	if nj.DedupeKey != "" {
		dedupe = nj.DedupeKey
	}
	insert := "INSERT INTO jobs (kind, payload, dedupe_key, state, run_at, attempts, max_attempts, created_at, updated_at) " +
		"VALUES (?, ?, ?, 'queued', COALESCE(" + s.d.timeParam() + ", " + s.d.now + "), 0, ?, " + s.d.now + ", " + s.d.now + ") " +
		"ON CONFLICT (dedupe_key) WHERE state IN ('queued', 'running') DO NOTHING RETURNING id"
	var id int64
	// Between a conflicting insert and the look-up the other job may finish
	// (PostgreSQL); then the insert succeeds on the next round.
	for range 3 {
		err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
			err := tx.QueryRowContext(ctx, insert, nj.Kind, payload, dedupe, s.d.timeArg(nj.RunAt), maxAttempts).Scan(&id)
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			return tx.QueryRowContext(ctx, "SELECT id FROM jobs WHERE dedupe_key = ? AND state IN ('queued', 'running')", nj.DedupeKey).Scan(&id)
		})
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("store: enqueue %s job: %w", nj.Kind, err)
		}
		return id, nil
	}
	return 0, fmt.Errorf("store: enqueue %s job: dedupe key %q kept changing hands", nj.Kind, nj.DedupeKey)
}

// ClaimJobs atomically takes up to n jobs of the given kinds for worker,
// setting them running with a lease of the given length and counting an
// attempt. A job is claimable when it is queued and due, or running with an
// expired lease (its worker died). Before claiming, expired jobs that have
// no attempts left are marked failed. The same job is never handed to two
// claimers, on either engine. No kinds or n <= 0 claims nothing; an empty
// worker or a lease under a millisecond is greenroom.CodeInvalid.
func (s *Store) ClaimJobs(ctx context.Context, worker string, kinds []string, n int, lease time.Duration) ([]Job, error) {
	if worker == "" || lease < time.Millisecond {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "claim needs a worker and a lease of at least 1ms")
	}
	if len(kinds) == 0 || n <= 0 {
		return nil, nil
	}
	now := s.d.now
	exhausted := "UPDATE jobs SET state = 'failed', finished_at = " + now + ", updated_at = " + now + ", locked_until = NULL, " +
		"last_error = 'lease expired: worker ' || locked_by || ' stopped before finishing the last attempt' " +
		"WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND locked_until < " + now + " AND attempts >= max_attempts" + s.d.skipLocked + ")"
	claim := "UPDATE jobs SET state = 'running', locked_by = ?, locked_until = " + s.d.plusMillis(now) + ", " +
		"attempts = attempts + 1, updated_at = " + now + " " +
		"WHERE id IN (SELECT id FROM jobs WHERE kind IN (" + placeholders(len(kinds)) + ") " +
		"AND ((state = 'queued' AND run_at <= " + now + ") OR (state = 'running' AND locked_until < " + now + ")) " +
		"ORDER BY run_at, id LIMIT ?" + s.d.skipLocked + ") " +
		"RETURNING " + jobColumns
	args := []any{worker, lease.Milliseconds()}
	for _, k := range kinds {
		args = append(args, k)
	}
	args = append(args, n)

	var jobs []Job
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		jobs = nil
		if _, err := tx.ExecContext(ctx, exhausted); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, claim, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim jobs: %w", err)
	}
	// RETURNING has no order; hand jobs out oldest first.
	slices.SortFunc(jobs, func(a, b Job) int { return cmp.Or(a.RunAt.Compare(b.RunAt), cmp.Compare(a.ID, b.ID)) })
	return jobs, nil
}

// ExtendLease moves a running job's lease to now plus lease. It fails with
// greenroom.CodeConflict when the job is no longer running for worker (its
// lease expired and another worker took it, or it finished), and with
// greenroom.CodeNotFound when there is no such job.
func (s *Store) ExtendLease(ctx context.Context, id int64, worker string, lease time.Duration) error {
	q := "UPDATE jobs SET locked_until = " + s.d.plusMillis(s.d.now) + ", updated_at = " + s.d.now +
		" WHERE id = ? AND state = 'running' AND locked_by = ?"
	return s.ownedUpdate(ctx, "extend lease of", id, worker, q, lease.Milliseconds(), id, worker)
}

// CompleteJob marks the running job done. Errors are as for ExtendLease.
func (s *Store) CompleteJob(ctx context.Context, id int64, worker string) error {
	q := "UPDATE jobs SET state = 'done', locked_until = NULL, finished_at = " + s.d.now + ", updated_at = " + s.d.now +
		" WHERE id = ? AND state = 'running' AND locked_by = ?"
	return s.ownedUpdate(ctx, "complete", id, worker, q, id, worker)
}

// FailJob records a failed attempt of the running job: it is queued again
// to run at retryAt (zero: now), or marked failed when it has used all its
// attempts. errMsg becomes last_error. Errors are as for ExtendLease.
func (s *Store) FailJob(ctx context.Context, id int64, worker, errMsg string, retryAt time.Time) error {
	now := s.d.now
	q := "UPDATE jobs SET last_error = ?, locked_until = NULL, updated_at = " + now + ", " +
		"run_at = CASE WHEN attempts >= max_attempts THEN run_at ELSE COALESCE(" + s.d.timeParam() + ", " + now + ") END, " +
		"finished_at = CASE WHEN attempts >= max_attempts THEN " + now + " ELSE NULL END, " +
		"state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END " +
		"WHERE id = ? AND state = 'running' AND locked_by = ?"
	return s.ownedUpdate(ctx, "fail", id, worker, q, cleanError(errMsg), s.d.timeArg(retryAt), id, worker)
}

// ReleaseJob gives a running job back unfinished, without counting the
// attempt: it is queued to run at once, for another worker. The pool uses it
// when a shutdown interrupts a handler. Errors are as for ExtendLease.
func (s *Store) ReleaseJob(ctx context.Context, id int64, worker string) error {
	q := "UPDATE jobs SET state = 'queued', attempts = attempts - 1, run_at = " + s.d.now + ", locked_until = NULL, " +
		"updated_at = " + s.d.now + " WHERE id = ? AND state = 'running' AND locked_by = ?"
	return s.ownedUpdate(ctx, "release", id, worker, q, id, worker)
}

// CoalesceQueuedJobs marks done every queued job of kind enqueued before
// job id (ids grow with time), because id's run covers their work when the
// handler calls this before it starts (a full catalog refresh answers every
// earlier request for one). Their rows, and so their payloads, are kept.
// It returns how many it marked.
func (s *Store) CoalesceQueuedJobs(ctx context.Context, kind string, id int64) (int, error) {
	var n int64
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE jobs SET state = 'done', last_error = ?, finished_at = "+s.d.now+
			", updated_at = "+s.d.now+" WHERE kind = ? AND state = 'queued' AND id < ?", fmt.Sprintf("coalesced into job %d", id), kind, id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: coalesce %s jobs: %w", kind, err)
	}
	return int(n), nil
}

// ownedUpdate runs an UPDATE that must match the job held by worker, and
// explains a miss.
func (s *Store) ownedUpdate(ctx context.Context, verb string, id int64, worker, query string, args ...any) error {
	var n int64
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("store: %s job %d: %w", verb, id, err)
	}
	if n > 0 {
		return nil
	}
	j, err := s.JobByID(ctx, id)
	if err != nil {
		return err
	}
	return greenroom.Errorf(greenroom.CodeConflict, "cannot %s job %d: it is %s (locked by %q), not running for %s", verb, id, j.State, j.LockedBy, worker)
}

// JobByID returns the job, or a greenroom.CodeNotFound error.
func (s *Store) JobByID(ctx context.Context, id int64) (Job, error) {
	j, err := scanJob(s.queryRowContext(ctx, "SELECT "+jobColumns+" FROM jobs WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, greenroom.Errorf(greenroom.CodeNotFound, "job %d not found", id)
	}
	if err != nil {
		return Job{}, fmt.Errorf("store: job %d: %w", id, err)
	}
	return j, nil
}

// DedupeKeyHandled reports whether a job with the dedupe key is queued,
// running or done — work that must happen once (a webhook delivery) has
// then been taken care of, here or on another replica, before or after a
// restart. A job that failed for good does not count, so that redelivering
// it (GitHub's "Redeliver") runs the work again. Finished jobs are kept
// until PruneJobs removes them, which bounds how far back this sees.
func (s *Store) DedupeKeyHandled(ctx context.Context, key string) (bool, error) {
	var one int
	err := s.queryRowContext(ctx, "SELECT 1 FROM jobs WHERE dedupe_key = ? AND state IN ('queued', 'running', 'done') LIMIT 1", key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: dedupe key %q: %w", key, err)
	}
	return true, nil
}

// JobCounts returns the number of jobs in each state; every state is
// present, zero or not.
func (s *Store) JobCounts(ctx context.Context) (map[string]int, error) {
	counts := map[string]int{JobQueued: 0, JobRunning: 0, JobDone: 0, JobFailed: 0}
	rows, err := s.queryContext(ctx, "SELECT state, COUNT(*) FROM jobs GROUP BY state")
	if err != nil {
		return nil, fmt.Errorf("store: count jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("store: count jobs: %w", err)
		}
		counts[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: count jobs: %w", err)
	}
	return counts, nil
}

// PruneJobs deletes done and failed jobs that finished before the given
// time and returns how many it deleted.
func (s *Store) PruneJobs(ctx context.Context, finishedBefore time.Time) (int, error) {
	var n int64
	err := s.withTx(ctx, func(ctx context.Context, tx *Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM jobs WHERE state IN ('done', 'failed') AND finished_at < ?", s.d.timeArg(finishedBefore))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune jobs: %w", err)
	}
	return int(n), nil
}

// cleanError makes a handler's error storable on both engines: valid UTF-8,
// no NUL (PostgreSQL rejects it in text), bounded length.
func cleanError(msg string) string {
	msg = strings.ReplaceAll(strings.ToValidUTF8(msg, "\uFFFD"), "\x00", "")
	if len(msg) > maxErrorLen {
		msg = strings.ToValidUTF8(msg[:maxErrorLen], "") + "…"
	}
	return msg
}
