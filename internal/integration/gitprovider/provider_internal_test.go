package gitprovider

import (
	"testing"
	"time"
)

func TestNextRun(t *testing.T) {
	const freq = 10 * time.Second
	slot := func(n int64) time.Time { return time.UnixMilli(n * freq.Milliseconds()) }
	tests := []struct {
		name     string
		now      time.Time
		after    int64
		r        float64
		wantSlot int64
		wantAt   time.Time
	}{
		{"middle jitter is the slot start", slot(100).Add(time.Second), 100, 0.5, 101, slot(101)},
		{"earliest jitter is 10% early", slot(100).Add(time.Second), 100, 0, 101, slot(101).Add(-time.Second)},
		{"latest jitter is 10% late", slot(100).Add(time.Second), 100, 1, 101, slot(101).Add(time.Second)},
		{"an old slot moves to now's", slot(200).Add(time.Second), 100, 0.5, 201, slot(201)},
		{"never before now", slot(101).Add(-500 * time.Millisecond), 100, 0, 101, slot(101).Add(-500 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotSlot, gotAt := nextRun(tt.now, freq, tt.after, tt.r)
			if gotSlot != tt.wantSlot || !gotAt.Equal(tt.wantAt) {
				t.Errorf("nextRun = %d, %v; want %d, %v", gotSlot, gotAt, tt.wantSlot, tt.wantAt)
			}
		})
	}
}

func TestProblemTextsBounded(t *testing.T) {
	errs := make([]error, 2*maxStateProblems)
	for i := range errs {
		errs[i] = longError(3 * maxStateProblemText)
	}
	got := problemTexts(errs)
	if len(got) != maxStateProblems {
		t.Fatalf("%d problems kept, want %d", len(got), maxStateProblems)
	}
	for _, s := range got {
		if len(s) > maxStateProblemText+len("…") {
			t.Fatalf("problem of %d bytes kept", len(s))
		}
	}
}

type longError int

func (n longError) Error() string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}
