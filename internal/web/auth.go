package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"sync"
	"time"
)

// TokenTTL is how long a login token from `rampart web url` may be used.
const TokenTTL = 5 * time.Minute

// Limits on what the auth state holds, so that minting or logging in in a
// loop cannot grow the daemon's memory without bound.
const (
	maxTokens   = 64
	maxSessions = 256
)

// tokenBytes is the length of tokens and session ids before encoding.
const tokenBytes = 32

// session is one logged-in browser.
type session struct {
	expires time.Time
	csrf    string
}

// auth holds the one-time login tokens and the sessions. Tokens and
// session ids are kept as their SHA-256 only: a copy of the daemon's memory
// is not a login.
type auth struct {
	ttl time.Duration // a session's lifetime
	now func() time.Time

	mu       sync.Mutex
	tokens   map[[32]byte]time.Time
	sessions map[[32]byte]session
}

func newAuth(ttl time.Duration, now func() time.Time) *auth {
	return &auth{ttl: ttl, now: now, tokens: map[[32]byte]time.Time{}, sessions: map[[32]byte]session{}}
}

// errToken is every refused token or session: the reason is not told.
var errToken = errors.New("web: invalid or expired token")

// random returns a new URL-safe random string.
func random() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeToken reads a token or session id; anything but the encoding of
// tokenBytes bytes is refused before it is hashed.
func decodeToken(s string) ([32]byte, bool) {
	if len(s) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return [32]byte{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != tokenBytes {
		return [32]byte{}, false
	}
	return sha256.Sum256(b), true
}

// mint returns a new one-time login token and when it expires.
func (a *auth) mint() (string, time.Time) {
	now := a.now()
	tok := random()
	h, _ := decodeToken(tok)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweep(now)
	for len(a.tokens) >= maxTokens { // drop the oldest
		var oldest [32]byte
		var at time.Time
		for k, exp := range a.tokens {
			if at.IsZero() || exp.Before(at) {
				oldest, at = k, exp
			}
		}
		delete(a.tokens, oldest)
	}
	exp := now.Add(TokenTTL)
	a.tokens[h] = exp
	return tok, exp
}

// redeem uses up token and returns a new session's id and CSRF token.
func (a *auth) redeem(token string) (id, csrf string, err error) {
	h, ok := decodeToken(token)
	if !ok {
		return "", "", errToken
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweep(now)
	exp, ok := a.tokens[h]
	if !ok || !now.Before(exp) {
		return "", "", errToken
	}
	delete(a.tokens, h)
	for len(a.sessions) >= maxSessions { // drop the one ending first
		var first [32]byte
		var at time.Time
		for k, s := range a.sessions {
			if at.IsZero() || s.expires.Before(at) {
				first, at = k, s.expires
			}
		}
		delete(a.sessions, first)
	}
	id = random()
	sh, _ := decodeToken(id)
	s := session{expires: now.Add(a.ttl), csrf: random()}
	a.sessions[sh] = s
	return id, s.csrf, nil
}

// session returns the live session of id.
func (a *auth) session(id string) (session, bool) {
	h, ok := decodeToken(id)
	if !ok {
		return session{}, false
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[h]
	if !ok || !now.Before(s.expires) {
		delete(a.sessions, h)
		return session{}, false
	}
	return s, true
}

// logout ends the session of id.
func (a *auth) logout(id string) {
	if h, ok := decodeToken(id); ok {
		a.mu.Lock()
		delete(a.sessions, h)
		a.mu.Unlock()
	}
}

// sweep drops expired tokens and sessions; a.mu is held.
func (a *auth) sweep(now time.Time) {
	for k, exp := range a.tokens {
		if !now.Before(exp) {
			delete(a.tokens, k)
		}
	}
	for k, s := range a.sessions {
		if !now.Before(s.expires) {
			delete(a.sessions, k)
		}
	}
}

// sameToken compares CSRF tokens in constant time.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
