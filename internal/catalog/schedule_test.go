package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"testing/fstest"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/store/storetest"
)

func TestNextRun(t *testing.T) {
	const min = time.Minute
	epoch := func(d time.Duration) time.Time { return time.UnixMilli(d.Milliseconds()) }
	tests := []struct {
		name     string
		now      time.Duration // since the epoch
		after    int64
		r        float64
		wantSlot int64
		wantAt   time.Duration
	}{
		{"no jitter", 10*min + 5*time.Second, 0, 0.5, 11, 11 * min},
		{"earliest", 10*min + 5*time.Second, 0, 0, 11, 11*min - 6*time.Second},
		{"late", 10*min + 5*time.Second, 0, 0.75, 11, 11*min + 3*time.Second},
		// A job that ran early (before its slot began) schedules the slot
		// after its own, not itself again.
		{"ran early", 11*min - 3*time.Second, 11, 0.5, 12, 12 * min},
		// Late by hours: the next slot after now, not a backlog.
		{"ran late", 500 * min, 11, 0.5, 501, 501 * min},
		// Jitter never puts the run before now.
		{"never before now", 11*min - 1*time.Second, 10, 0, 11, 11*min - 1*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slot, at := catalog.NextRun(epoch(tt.now), min, tt.after, tt.r)
			if slot != tt.wantSlot || !at.Equal(epoch(tt.wantAt)) {
				t.Errorf("nextRun = %d, %v; want %d, %v", slot, at.Sub(epoch(0)), tt.wantSlot, tt.wantAt)
			}
		})
	}
}

type scheduled struct {
	kind, key, payload string
	at                 time.Time
}

func TestScheduledRefreshChain(t *testing.T) {
	s := storetest.SQLite(t)
	fsys := fstest.MapFS{"all.yaml": {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team}\nspec: {type: team, children: []}\n")}}
	svc, err := catalog.NewService(s, []catalog.Source{{Name: "src", FS: fsys, Root: "all.yaml"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(int64(100*time.Second/time.Millisecond) + 250)
	var jobs []scheduled
	enqueue := func(ctx context.Context, kind string, payload any, at time.Time, key string) error {
		b, err := json.Marshal(payload)
		jobs = append(jobs, scheduled{kind, key, string(b), at})
		return err
	}
	svc.SetSchedule(catalog.Schedule{
		Interval: 10 * time.Second,
		Enqueue:  enqueue,
		Now:      func() time.Time { return now },
		Rand:     func() float64 { return 0.5 },
	})
	if err := svc.ScheduleRefresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := scheduled{catalog.ScheduledRefreshJobKind, "catalog.scheduled-refresh:10000:11", `{"slot":11,"intervalMs":10000}`, time.UnixMilli(110_000)}
	if len(jobs) != 1 || jobs[0] != want {
		t.Fatalf("scheduled %+v, want %+v", jobs, want)
	}

	// The job runs: it queues the next slot first, then refreshes.
	now = time.UnixMilli(110_020)
	payload := []byte(jobs[0].payload)
	if err := svc.RunScheduledRefresh(t.Context(), payload); err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[1].key != "catalog.scheduled-refresh:10000:12" || !jobs[1].at.Equal(time.UnixMilli(120_000)) {
		t.Errorf("next %+v", jobs[1:])
	}
	if _, err := s.EntityByRef(t.Context(), "group:default/team"); err != nil {
		t.Errorf("the scheduled job did not refresh: %v", err)
	}
	// A job queued under another interval (the config changed since)
	// does not carry its slot over: the next slot of the new interval.
	if err := svc.RunScheduledRefresh(t.Context(), []byte(`{"slot":123456789,"intervalMs":60000}`)); err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 || jobs[2].key != "catalog.scheduled-refresh:10000:12" {
		t.Errorf("after an interval change %+v", jobs[2:])
	}
	if err := svc.RunScheduledRefresh(t.Context(), []byte("{")); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
		t.Errorf("bad payload: %v", err)
	}

	// Disabled (processingInterval: false): nothing is scheduled, and a job
	// left from before still refreshes without scheduling another.
	jobs = nil
	svc.SetSchedule(catalog.Schedule{Enqueue: enqueue})
	if err := svc.ScheduleRefresh(t.Context()); err != nil || len(jobs) != 0 {
		t.Errorf("disabled: %v %+v", err, jobs)
	}
	if err := svc.RunScheduledRefresh(t.Context(), payload); err != nil || len(jobs) != 0 {
		t.Errorf("disabled run: %v %+v", err, jobs)
	}
}

func TestRunRefreshJob(t *testing.T) {
	s := storetest.SQLite(t)
	fsys := fstest.MapFS{"all.yaml": {Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team}\nspec: {type: team, children: []}\n")}}
	svc, err := catalog.NewService(s, []catalog.Source{{Name: "src", FS: fsys, Root: "all.yaml"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	coalesced := 0
	coalesce := func(context.Context) (int, error) { coalesced++; return 2, nil }
	if err := svc.RunRefreshJob(t.Context(), []byte(`{"requestId":"r1"}`), coalesce); err != nil {
		t.Fatal(err)
	}
	if coalesced != 1 {
		t.Errorf("a full refresh coalesced %d times", coalesced)
	}
	if _, err := s.EntityByRef(t.Context(), "group:default/team"); err != nil {
		t.Fatalf("full refresh: %v", err)
	}
	// A targeted request refreshes its source and coalesces nothing, since
	// it does not answer full requests.
	fsys["all.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team, title: Team}\nspec: {type: team, children: []}\n")}
	if err := svc.RunRefreshJob(t.Context(), []byte(`{"entityRef":"group:default/team"}`), coalesce); err != nil {
		t.Fatal(err)
	}
	rec, _ := s.EntityByRef(t.Context(), "group:default/team")
	var e struct{ Metadata struct{ Title string } }
	if err := json.Unmarshal(rec.Body, &e); err != nil || e.Metadata.Title != "Team" || coalesced != 1 {
		t.Errorf("targeted refresh: title %q, coalesced %d, %v", e.Metadata.Title, coalesced, err)
	}
	// The entity is gone by the time the job runs: nothing to do, no retry.
	if err := svc.RunRefreshJob(t.Context(), []byte(`{"entityRef":"group:default/gone"}`), coalesce); err != nil {
		t.Errorf("missing entity: %v", err)
	}
	if err := svc.RunRefreshJob(t.Context(), nil, func(context.Context) (int, error) { return 0, errors.New("db down") }); err == nil {
		t.Error("coalesce error swallowed")
	}
	if err := svc.RunRefreshJob(t.Context(), []byte(`[]`), coalesce); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
		t.Errorf("bad payload: %v", err)
	}
}
