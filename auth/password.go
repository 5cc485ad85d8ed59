package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// isBcrypt reports whether a configured secret is a bcrypt hash rather than
// a plain-text password or token.
func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// checkBcrypt validates a configured bcrypt hash so a typo is reported at
// start-up instead of as a failed login.
func checkBcrypt(hash string) error {
	_, err := bcrypt.Cost([]byte(hash))
	return err
}

// secretMatches compares a configured secret (plain text or bcrypt hash)
// with the one a client sent. Plain secrets are compared through their
// SHA-256 digests in constant time, so neither the content nor the length of
// the configured secret shows in the timing.
func secretMatches(stored, given string) bool {
	if isBcrypt(stored) {
		return bcrypt.CompareHashAndPassword([]byte(stored), []byte(given)) == nil
	}
	a := sha256.Sum256([]byte(stored))
	b := sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
