package entity

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"

	"greenroom/internal/greenroom"
)

// CanonicalJSON returns the entity's JSON in a stable form: object keys
// sorted, no insignificant white space, no HTML escaping, numbers exactly
// as they were read. Equal entities give equal bytes.
func CanonicalJSON(e *Entity) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e.raw); err != nil {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "entity is not representable as JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Hash returns a stable hash of the entity for change detection: the
// hex SHA-256 of its canonical JSON without metadata.uid, metadata.etag and
// metadata.generation, the fields the catalog itself assigns. Like
// Backstage's stitcher, which sets a missing etag to the entity's hash, the
// catalog may use it as metadata.etag: it changes exactly when the entity
// does.
func Hash(e *Entity) (string, error) {
	h := e
	if meta, ok := e.raw["metadata"].(map[string]any); ok {
		_, uid := meta["uid"]
		_, etag := meta["etag"]
		_, gen := meta["generation"]
		if uid || etag || gen {
			meta = maps.Clone(meta)
			delete(meta, "uid")
			delete(meta, "etag")
			delete(meta, "generation")
			root := maps.Clone(e.raw)
			root["metadata"] = meta
			h = &Entity{raw: root}
		}
	}
	b, err := CanonicalJSON(h)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
