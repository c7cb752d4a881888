package authn

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// sealPrefix marks a refresh token sealed with auth.session.secret.
const sealPrefix = "v1:"

// sealer encrypts the provider refresh tokens kept with sessions
// (AES-256-GCM, key SHA-256 of auth.session.secret), so that a copy of the
// database does not hand out live provider grants. Without a secret it
// stores them as they are.
type sealer struct{ aead cipher.AEAD }

func newSealer(secret string) (sealer, error) {
	if secret == "" {
		return sealer{}, nil
	}
	key := sha256.Sum256([]byte(secret))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return sealer{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealer{}, err
	}
	return sealer{aead: aead}, nil
}

func (s sealer) seal(plain string) string {
	if s.aead == nil || plain == "" {
		return plain
	}
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce) // never fails (crypto/rand)
	return sealPrefix + base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plain), []byte("greenroom refresh token")))
}

// errUnseal is a sealed value that does not open: another secret, or
// tampered with.
var errUnseal = errors.New("authn: refresh token does not decrypt with auth.session.secret")

func (s sealer) open(stored string) (string, error) {
	rest, sealed := strings.CutPrefix(stored, sealPrefix)
	if !sealed {
		return stored, nil // stored before a secret was set
	}
	if s.aead == nil {
		return "", errUnseal
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errUnseal
	}
	plain, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], []byte("greenroom refresh token"))
	if err != nil {
		return "", errUnseal
	}
	return string(plain), nil
}
