package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"greenroom/internal/greenroom"
)

// errorBody is Backstage's error response shape, which
// @backstage/catalog-client and other clients parse.
type errorBody struct {
	Error    errorDetail  `json:"error"`
	Request  errorRequest `json:"request"`
	Response struct {
		StatusCode int `json:"statusCode"`
	} `json:"response"`
}

type errorDetail struct {
	Name      string `json:"name"`
	Message   string `json:"message"`
	RequestID string `json:"requestId,omitempty"`
}

type errorRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// backstageErrorName maps our codes to the error names of
// @backstage/errors, which clients switch on.
func backstageErrorName(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "InputError"
	case http.StatusUnauthorized:
		return "AuthenticationError"
	case http.StatusForbidden:
		return "NotAllowedError"
	case http.StatusNotFound:
		return "NotFoundError"
	case http.StatusConflict:
		return "ConflictError"
	case http.StatusRequestEntityTooLarge:
		return "PayloadTooLargeError"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailableError"
	default:
		return "Error"
	}
}

// ErrorWriter renders errors in Backstage's body shape and logs internal
// ones once, with the request id the user is shown.
type ErrorWriter struct{ Logger *slog.Logger }

// Write renders err.
func (ew ErrorWriter) Write(w http.ResponseWriter, r *http.Request, err error) {
	status := greenroom.HTTPStatus(err)
	reqID := greenroom.RequestID(r.Context())
	msg := greenroom.ErrorMessage(err)
	if status >= 500 {
		if ew.Logger != nil {
			ew.Logger.Error("request failed", "request_id", reqID, "method", r.Method, "path", r.URL.Path, "err", err)
		}
		if status == http.StatusInternalServerError {
			msg = "internal error; quote request id " + reqID + " when reporting it"
		}
	}
	var body errorBody
	body.Error = errorDetail{Name: backstageErrorName(status), Message: msg, RequestID: reqID}
	body.Request = errorRequest{Method: r.Method, URL: r.URL.RequestURI()}
	body.Response.StatusCode = status
	writeJSON(w, status, body)
}

// writeRawJSON writes b, JSON already encoded, as writeJSON would.
func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	setJSONHeaders(h)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b) // as in writeJSON: only a broken connection fails
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	setJSONHeaders(w.Header())
	w.WriteHeader(status)
	// The status is sent; an encoding failure can only be a broken
	// connection, which the access log shows.
	_ = json.NewEncoder(w).Encode(v)
}

// The values of the JSON responses' fixed headers, shared by every
// response instead of allocated for each: a header's value slice is only
// ever replaced (Set, Del) or appended to (Add, which copies a full
// slice), never written in place.
var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	noSniff         = []string{"nosniff"}
)

// setJSONHeaders is h.Set("Content-Type", "application/json;
// charset=utf-8") and h.Set("X-Content-Type-Options", "nosniff").
func setJSONHeaders(h http.Header) {
	h["Content-Type"] = jsonContentType[:1:1]
	h["X-Content-Type-Options"] = noSniff[:1:1]
}
