package feishu

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"greenroom/internal/feishu"
	"greenroom/internal/greenroom"
)

var _ feishu.Publisher = GitPublisher{}

// GitPublisher commits a migration's files on a new branch of the local
// git repository they were written into (go-git, no git binary). The
// branch starts at HEAD and is checked out, keeping the working tree.
type GitPublisher struct {
	// Author of the commits; default Greenroom <greenroom@localhost>.
	Name, Email string
	Now         func() time.Time
}

// Publish implements feishu.Publisher.
func (p GitPublisher) Publish(ctx context.Context, dir, branch, message string, paths []string) (string, error) {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "git: %s is not a git repository: %v", dir, err)
	}
	head, err := repo.Head()
	if err != nil {
		return "", fmt.Errorf("git: HEAD: %w", err)
	}
	ref := plumbing.NewBranchReferenceName(branch)
	if _, err := repo.Reference(ref, false); err == nil {
		return "", greenroom.Errorf(greenroom.CodeConflict, "git: branch %s already exists", branch)
	} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", fmt.Errorf("git: %w", err)
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(ref, head.Hash())); err != nil {
		return "", fmt.Errorf("git: create branch %s: %w", branch, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", fmt.Errorf("git: worktree: %w", err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Branch: ref, Keep: true}); err != nil {
		return "", fmt.Errorf("git: checkout %s: %w", branch, err)
	}
	for _, path := range paths {
		if _, err := wt.Add(path); err != nil {
			return "", fmt.Errorf("git: add %s: %w", path, err)
		}
	}
	name, email, now := p.Name, p.Email, p.Now
	if name == "" {
		name, email = "Greenroom", "greenroom@localhost"
	}
	if now == nil {
		now = time.Now
	}
	h, err := wt.Commit(message, &git.CommitOptions{Author: &object.Signature{Name: name, Email: email, When: now()}})
	if err != nil {
		return "", fmt.Errorf("git: commit: %w", err)
	}
	return h.String(), nil
}
