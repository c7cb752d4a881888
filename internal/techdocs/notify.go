package techdocs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"strings"
	"time"
)

// SlackNotifier posts notices to a Slack incoming webhook.
type SlackNotifier struct {
	WebhookURL string
	HTTP       *http.Client
}

// Notify implements Notifier.
func (n *SlackNotifier) Notify(ctx context.Context, no Notice) error {
	text := fmt.Sprintf(":warning: The docs of *%s* (owner %s) failed to build; the last good version is still served.\n```%s```", no.Entity, orNone(no.Owner), no.Error)
	if no.DocsURL != "" {
		text += "\n<" + no.DocsURL + "|Open the docs>"
	}
	body, _ := json.Marshal(map[string]string{"text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("techdocs: slack: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := n.HTTP
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("techdocs: slack: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("techdocs: slack: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// SMTPNotifier mails notices. Recipients maps an owner ref (such as
// "group:default/payments") to addresses; Default gets notices of owners
// without an entry.
type SMTPNotifier struct {
	Addr       string // host:port
	From       string
	Username   string
	Password   string
	Recipients map[string][]string
	Default    []string
}

// Notify implements Notifier.
func (n *SMTPNotifier) Notify(ctx context.Context, no Notice) error {
	to := n.Recipients[strings.ToLower(no.Owner)]
	if len(to) == 0 {
		to = n.Default
	}
	if len(to) == 0 {
		return errors.New("techdocs: smtp: no recipient for owner " + orNone(no.Owner))
	}
	for _, a := range append([]string{n.From}, to...) {
		if strings.ContainsAny(a, "\r\n") {
			return errors.New("techdocs: smtp: bad address")
		}
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: Docs build failed: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		n.From, strings.Join(to, ", "), strings.NewReplacer("\r", "", "\n", "").Replace(no.Entity))
	fmt.Fprintf(&msg, "The docs of %s (owner %s) failed to build. The last good version is still served.\r\n\r\n%s\r\n",
		no.Entity, orNone(no.Owner), strings.ReplaceAll(no.Error, "\n", "\r\n"))
	if no.DocsURL != "" {
		fmt.Fprintf(&msg, "\r\n%s\r\n", no.DocsURL)
	}
	var auth smtp.Auth
	if n.Username != "" {
		host, _, _ := net.SplitHostPort(n.Addr)
		auth = smtp.PlainAuth("", n.Username, n.Password, host)
	}
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(n.Addr, auth, n.From, to, []byte(msg.String())) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("techdocs: smtp: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Notifiers sends a notice to each notifier, joining their errors.
type Notifiers []Notifier

// Notify implements Notifier.
func (ns Notifiers) Notify(ctx context.Context, no Notice) error {
	var errs []error
	for _, n := range ns {
		errs = append(errs, n.Notify(ctx, no))
	}
	return errors.Join(errs...)
}
