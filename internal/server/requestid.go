package server

import (
	"crypto/rand"
	"encoding/hex"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// validRequestID accepts a client-supplied id only when it is short and
// printable, so a hostile header cannot pollute logs.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}
