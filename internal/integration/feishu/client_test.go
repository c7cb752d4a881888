package feishu_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	domain "greenroom/internal/feishu"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/feishu"
	"greenroom/internal/integration/feishu/feishufake"
)

const publicSamples = "feishufake/testdata/public"

func newClient(t *testing.T, fake *feishufake.Server, tweak func(*feishu.Options)) *feishu.Client {
	t.Helper()
	opts := feishu.Options{BaseURL: fake.URL, AppID: feishufake.AppID, AppSecret: feishufake.AppSecret,
		InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Timeout: 5 * time.Second}
	if tweak != nil {
		tweak(&opts)
	}
	c, err := feishu.New(opts, feishu.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func samples(t *testing.T) []domain.Dump {
	t.Helper()
	dumps, err := feishufake.LoadDumps(publicSamples)
	if err != nil || len(dumps) < 3 {
		t.Fatalf("public samples: %d, %v", len(dumps), err)
	}
	return dumps
}

func markdown(t *testing.T, blocks []domain.Block) string {
	t.Helper()
	conv, _ := domain.NewConverter(domain.DefaultConversion(), nil)
	r, err := conv.Convert(context.Background(), blocks)
	if err != nil {
		t.Fatal(err)
	}
	return r.Markdown
}

// TestBlocksAcrossPageBoundaries serves the public samples seven blocks a
// page (so parents and children land on different pages) with rate limits
// injected, and checks the conversion equals that of the whole dump.
func TestBlocksAcrossPageBoundaries(t *testing.T) {
	fake := feishufake.New()
	defer fake.Close()
	fake.BlockPageSize = 7
	dumps := samples(t)
	for _, d := range dumps {
		fake.AddDocument("", d)
	}
	c := newClient(t, fake, nil)
	fake.Inject(feishufake.Fault429, feishufake.FaultRateCode, feishufake.Fault429)
	for _, d := range dumps {
		id := d.Document.DocumentID
		blocks, err := c.Blocks(context.Background(), id)
		if err != nil {
			t.Fatalf("Blocks(%s): %v", id, err)
		}
		if len(blocks) != len(d.Blocks) {
			t.Errorf("%s: %d blocks, want %d", id, len(blocks), len(d.Blocks))
		}
		if got, want := markdown(t, blocks), markdown(t, d.Blocks); got != want {
			t.Errorf("%s: paged conversion differs:\n%s", id, cmp.Diff(want, got))
		}
		doc, err := c.Document(context.Background(), id)
		if err != nil || doc.Title != d.Document.Title {
			t.Errorf("Document(%s) = %+v, %v", id, doc, err)
		}
	}
	st := c.Stats()
	if st.RateLimits != 3 || st.Retries != 3 {
		t.Errorf("stats = %+v, want 3 rate limits retried", st)
	}
	if fake.TokensIssued() != 1 {
		t.Errorf("%d tokens fetched, want 1 (cached)", fake.TokensIssued())
	}
	wantPages := 0
	for _, d := range dumps {
		wantPages += (len(d.Blocks) + 6) / 7
	}
	if got := fake.Requests()["GET docx/v1/documents/:id/blocks"]; got != wantPages+3 {
		t.Errorf("%d block requests, want %d pages + 3 retries", got, wantPages)
	}
}

func TestTokenRefreshedWhenRejected(t *testing.T) {
	fake := feishufake.New()
	defer fake.Close()
	d := samples(t)[2]
	fake.AddDocument("", d)
	c := newClient(t, fake, nil)
	if _, err := c.Document(context.Background(), d.Document.DocumentID); err != nil {
		t.Fatal(err)
	}
	fake.Inject(feishufake.FaultBadToken)
	if _, err := c.Document(context.Background(), d.Document.DocumentID); err != nil {
		t.Fatalf("after a revoked token: %v", err)
	}
	if fake.TokensIssued() != 2 {
		t.Errorf("%d tokens fetched, want 2", fake.TokensIssued())
	}
}

func TestTokenExpiry(t *testing.T) {
	fake := feishufake.New()
	defer fake.Close()
	fake.TokenExpire = 7200
	d := samples(t)[2]
	fake.AddDocument("", d)
	now := time.Unix(1_700_000_000, 0)
	c, err := feishu.New(feishu.Options{BaseURL: fake.URL, AppID: feishufake.AppID, AppSecret: feishufake.AppSecret},
		feishu.Deps{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []time.Duration{0, time.Hour, 58 * time.Minute} {
		now = now.Add(step)
		if _, err := c.Document(context.Background(), d.Document.DocumentID); err != nil {
			t.Fatal(err)
		}
	}
	// 0 and 1 h reuse the first token; at 1 h 58 min it is within five
	// minutes of its 2 h expiry and is renewed.
	if fake.TokensIssued() != 2 {
		t.Errorf("%d tokens fetched, want 2", fake.TokensIssued())
	}
}

func TestErrors(t *testing.T) {
	fake := feishufake.New()
	defer fake.Close()
	d := samples(t)[2]
	fake.AddDocument("", d)
	fake.Deny(d.Document.DocumentID)
	c := newClient(t, fake, nil)
	ctx := context.Background()

	_, err := c.Blocks(ctx, d.Document.DocumentID)
	if greenroom.ErrorCode(err) != greenroom.CodeForbidden || !strings.Contains(err.Error(), "1770032") {
		t.Errorf("denied document: %v (code %s), want forbidden naming 1770032", err, greenroom.ErrorCode(err))
	}
	if _, err := c.Members(ctx, d.Document.DocumentID, "docx"); greenroom.ErrorCode(err) != greenroom.CodeForbidden {
		t.Errorf("denied members: %v", err)
	}
	if _, err := c.Document(ctx, "nope"); greenroom.ErrorCode(err) != greenroom.CodeNotFound {
		t.Errorf("missing document: %v", err)
	}
	fake.Inject(feishufake.FaultTruncated)
	if _, err := c.Blocks(ctx, "nope"); err == nil || greenroom.ErrorCode(err) == "" {
		t.Errorf("truncated answer: %v", err)
	}

	bad, _ := feishu.New(feishu.Options{BaseURL: fake.URL, AppID: feishufake.AppID, AppSecret: "wrong"}, feishu.Deps{})
	if err := bad.Check(ctx); err == nil || !strings.Contains(err.Error(), "10014") {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := feishu.New(feishu.Options{BaseURL: "ftp://x", AppID: "a", AppSecret: "b"}, feishu.Deps{}); err == nil {
		t.Error("New accepted an ftp base URL")
	}
	if _, err := feishu.New(feishu.Options{AppID: "a"}, feishu.Deps{}); err == nil {
		t.Error("New accepted a missing secret")
	}
}

func TestRetriesExhaustedAndBreaker(t *testing.T) {
	fake := feishufake.New()
	defer fake.Close()
	d := samples(t)[2]
	fake.AddDocument("", d)
	c := newClient(t, fake, func(o *feishu.Options) { o.MaxRetries = 2; o.BreakerFailures = 4; o.BreakerTimeout = time.Hour })
	ctx := context.Background()
	if err := c.Check(ctx); err != nil {
		t.Fatal(err)
	}
	faults := make([]feishufake.Fault, 10)
	for i := range faults {
		faults[i] = feishufake.Fault500
	}
	fake.Inject(faults...)
	_, err := c.Document(ctx, d.Document.DocumentID)
	if greenroom.ErrorCode(err) != greenroom.CodeUnavailable {
		t.Fatalf("after 3 server errors: %v, want unavailable", err)
	}
	before := fake.Requests()["GET docx/v1/documents/:id"]
	if before != 3 {
		t.Errorf("%d requests, want 1 + 2 retries", before)
	}
	// The fourth failure opens the breaker; then no request is sent.
	_, _ = c.Document(ctx, d.Document.DocumentID)
	mid := fake.Requests()["GET docx/v1/documents/:id"]
	_, err = c.Document(ctx, d.Document.DocumentID)
	if greenroom.ErrorCode(err) != greenroom.CodeUnavailable || !strings.Contains(greenroom.ErrorMessage(err), "paused") {
		t.Errorf("with the breaker open: %v", err)
	}
	if after := fake.Requests()["GET docx/v1/documents/:id"]; after != mid {
		t.Errorf("breaker open, yet %d more requests were sent", after-mid)
	}
}

func TestFolderMediaUsersMembers(t *testing.T) {
	fake := feishufake.New()
	defer fake.Close()
	fake.FilePageSize = 2
	fake.AddFolder("", "fldA", "Team A")
	for i := 0; i < 5; i++ {
		fake.AddFile("fldA", domain.File{Token: fmt.Sprint("sht", i), Name: fmt.Sprint("sheet ", i), Type: "sheet"})
	}
	fake.AddMedia("img1", domain.Media{Data: []byte("\x89PNG..."), ContentType: "image/png", FileName: "a.png"})
	fake.AddUser("ou_1", "Ada")
	fake.SetMembers("doc1", []domain.Member{{MemberType: "openchat", MemberID: "oc_team", Perm: "full_access"}})
	c := newClient(t, fake, nil)
	ctx := context.Background()

	root, err := c.ListFolder(ctx, "")
	if err != nil || len(root) != 1 || root[0].Type != "folder" {
		t.Fatalf("root = %+v, %v", root, err)
	}
	items, err := c.ListFolder(ctx, "fldA")
	if err != nil || len(items) != 5 {
		t.Fatalf("fldA: %d items, %v; want 5 over 3 pages", len(items), err)
	}
	if n := fake.Requests()["GET drive/v1/files"]; n != 1+3 {
		t.Errorf("%d listing requests, want 4", n)
	}
	if _, err := c.ListFolder(ctx, "missing"); greenroom.ErrorCode(err) != greenroom.CodeNotFound {
		t.Errorf("missing folder: %v", err)
	}
	m, err := c.Media(ctx, "img1")
	if err != nil || string(m.Data) != "\x89PNG..." || m.ContentType != "image/png" || m.FileName != "a.png" {
		t.Errorf("Media = %+v, %v", m, err)
	}
	if _, err := c.Media(ctx, "nope"); err == nil {
		t.Error("missing media downloaded")
	}
	if name, err := c.UserName(ctx, "ou_1"); err != nil || name != "Ada" {
		t.Errorf("UserName = %q, %v", name, err)
	}
	mem, err := c.Members(ctx, "doc1", "docx")
	if err != nil || len(mem) != 1 || mem[0].MemberID != "oc_team" || mem[0].Perm != "full_access" {
		t.Errorf("Members = %+v, %v", mem, err)
	}
}

func TestMediaSizeBound(t *testing.T) {
	fake := feishufake.New()
	defer fake.Close()
	fake.AddMedia("big", domain.Media{Data: make([]byte, 2048), ContentType: "image/png"})
	c := newClient(t, fake, func(o *feishu.Options) { o.MaxMediaBytes = 1024 })
	_, err := c.Media(context.Background(), "big")
	if greenroom.ErrorCode(err) != greenroom.CodeTooLarge {
		t.Errorf("2 KiB media with a 1 KiB bound: %v", err)
	}
}

func TestCancelledContextStopsRetries(t *testing.T) {
	fake := feishufake.New()
	defer fake.Close()
	c := newClient(t, fake, func(o *feishu.Options) { o.InitialBackoff = time.Hour; o.MaxBackoff = time.Hour })
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	fake.Inject(feishufake.Fault500)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Document(ctx, "x")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("Document = %v after %v, want the context's deadline promptly", err, time.Since(start))
	}
}

func TestComments(t *testing.T) {
	fake := feishufake.New()
	defer fake.Close()
	fake.AddComment("doc1", "c1", "first")
	fake.AddComment("doc1", "c2", "second")
	c := newClient(t, fake, nil)
	got, err := c.Comments(context.Background(), "doc1", "docx")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"c1": "first", "c2": "second"}, got); diff != "" {
		t.Errorf("Comments (-want +got):\n%s", diff)
	}
}

func TestRateLimitsDoNotOpenTheBreaker(t *testing.T) {
	fake := feishufake.New()
	defer fake.Close()
	d := samples(t)[2]
	fake.AddDocument("", d)
	c := newClient(t, fake, func(o *feishu.Options) { o.BreakerFailures = 2; o.MaxRetries = 10 })
	faults := make([]feishufake.Fault, 8)
	for i := range faults {
		faults[i] = feishufake.Fault429
	}
	fake.Inject(faults...)
	if _, err := c.Document(context.Background(), d.Document.DocumentID); err != nil {
		t.Fatalf("after 8 rate limits: %v", err)
	}
	if st := c.Stats(); st.RateLimits != 8 {
		t.Errorf("stats = %+v", st)
	}
}
