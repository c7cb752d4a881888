package githuborg_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"greenroom/internal/catalog"
	"greenroom/internal/integration/github/githubfake"
	"greenroom/internal/integration/githuborg"
	"greenroom/internal/store/storetest"
)

type queued struct {
	kind, key string
	at        time.Time
	payload   []byte
}

func TestSchedule(t *testing.T) {
	st := storetest.SQLite(t)
	fake := githubfake.New(t, githubfake.Config{})
	seedAcme(fake)
	svc, err := catalog.NewService(st, nil, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(10*time.Hour.Milliseconds() + 123) // in slot 10 of an hourly schedule
	var jobs []queued
	cfg := acmeConfig()
	cfg.Schedule.InitialDelay = 5 * time.Second
	p, err := githuborg.New(githuborg.Options{Config: cfg, Client: newClient(t, fake), Catalog: svc,
		Now: func() time.Time { return now }, Rand: func() float64 { return 1 }, // +10 % jitter
		Enqueue: func(_ context.Context, kind string, payload any, at time.Time, key string) error {
			b, _ := json.Marshal(payload)
			jobs = append(jobs, queued{kind, key, at, b})
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	debounceSlot := now.Add(5*time.Second).UnixMilli() / githuborg.DefaultDebounce.Milliseconds()
	want := []queued{
		{"githuborg.read:main", fmt.Sprintf("githuborg.read:main:%d", debounceSlot), time.UnixMilli((debounceSlot + 1) * 2000), nil},
		{"githuborg.scheduled-read:main", "githuborg.scheduled-read:main:3600000:11", time.UnixMilli(11 * 3600000).Add(6 * time.Minute), nil},
	}
	if len(jobs) != len(want) {
		t.Fatalf("queued %+v", jobs)
	}
	for i := range want {
		if jobs[i].kind != want[i].kind || jobs[i].key != want[i].key || !jobs[i].at.Equal(want[i].at) {
			t.Errorf("job %d = %s %s %v, want %s %s %v", i, jobs[i].kind, jobs[i].key, jobs[i].at, want[i].kind, want[i].key, want[i].at)
		}
	}
	// The scheduled job queues the next slot before reading.
	now = time.UnixMilli(11 * 3600000).Add(6 * time.Minute)
	if err := p.RunScheduledRead(t.Context(), jobs[1].payload); err != nil {
		t.Fatal(err)
	}
	if last := jobs[len(jobs)-1]; last.key != "githuborg.scheduled-read:main:3600000:12" {
		t.Errorf("next scheduled job %s, want slot 12", last.key)
	}
	if _, ok := get(t, svc, "user:default/alice"); !ok {
		t.Error("the scheduled read applied nothing")
	}
	if err := p.RunScheduledRead(t.Context(), []byte(`{"slot":`)); err == nil {
		t.Error("a broken payload was accepted")
	}
}
