package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"greenroom/internal/greenroom"
)

// maxGraphQLPages bounds one paginated GraphQL walk, like Backstage's
// "just for sanity" loop bound.
const maxGraphQLPages = 1000

// GraphQLError is one entry of a GraphQL answer's "errors".
type GraphQLError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Path    []any  `json:"path"`
}

// GraphQLErrors are the errors of one GraphQL answer.
type GraphQLErrors struct {
	Operation string
	Errors    []GraphQLError
}

func (e *GraphQLErrors) Error() string {
	msgs := make([]string, 0, len(e.Errors))
	for _, g := range e.Errors {
		m := g.Message
		if g.Type != "" {
			m = g.Type + ": " + m
		}
		msgs = append(msgs, m)
	}
	return fmt.Sprintf("github: graphql %s: %s", e.Operation, strings.Join(msgs, "; "))
}

func graphQLCode(errs []GraphQLError) greenroom.Code {
	for _, e := range errs {
		switch e.Type {
		case "NOT_FOUND":
			return greenroom.CodeNotFound
		case "FORBIDDEN":
			return greenroom.CodeForbidden
		case "INTERNAL", "RESOURCE_LIMITS_EXCEEDED", "TIMEOUT", "SERVICE_UNAVAILABLE":
			return greenroom.CodeUnavailable
		}
	}
	return greenroom.CodeInternal
}

// graphQLRateLimited reports whether a 200 answer is GitHub's GraphQL way of
// saying the primary limit is exhausted, with the reset it announced.
func graphQLRateLimited(resp *response) (time.Time, bool) {
	if !strings.Contains(string(resp.body), "RATE_LIMITED") {
		return time.Time{}, false
	}
	var body struct {
		Errors []GraphQLError `json:"errors"`
	}
	if json.Unmarshal(resp.body, &body) != nil {
		return time.Time{}, false
	}
	for _, e := range body.Errors {
		if e.Type == "RATE_LIMITED" {
			reset, _ := strconv.ParseInt(resp.header.Get("X-RateLimit-Reset"), 10, 64)
			return time.Unix(reset, 0), true
		}
	}
	return time.Time{}, false
}

// graphql runs one query with owner's credentials and decodes its data
// into out. Any error in the answer fails the call: a partial answer would
// look like deleted repositories or members.
func (c *Client) graphql(ctx context.Context, owner, operation, query string, vars map[string]any, out any) error {
	payload, err := json.Marshal(map[string]any{"query": query, "variables": vars, "operationName": operation})
	if err != nil {
		return fmt.Errorf("github: graphql %s: encode: %w", operation, err)
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, url: c.opts.GraphQLURL, owner: owner, kind: kindGraphQL, body: payload})
	if err != nil {
		return fmt.Errorf("github: graphql %s: %w", operation, err)
	}
	var body struct {
		Data   json.RawMessage `json:"data"`
		Errors []GraphQLError  `json:"errors"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil {
		return greenroom.Errorf(greenroom.CodeUnavailable, "github: graphql %s: malformed answer: %w", operation, err)
	}
	if len(body.Errors) > 0 {
		e := &GraphQLErrors{Operation: operation, Errors: body.Errors}
		return &greenroom.Error{Code: graphQLCode(body.Errors), Message: e.Error(), Err: e}
	}
	var cost struct {
		RateLimit *struct {
			Cost int64 `json:"cost"`
		} `json:"rateLimit"`
	}
	if json.Unmarshal(body.Data, &cost) == nil && cost.RateLimit != nil {
		c.stats.graphqlCost.Add(cost.RateLimit.Cost)
	}
	if err := json.Unmarshal(body.Data, out); err != nil {
		return fmt.Errorf("github: graphql %s: decode: %w", operation, err)
	}
	return nil
}

// PageInfo is a GraphQL connection's paging state.
type PageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}
