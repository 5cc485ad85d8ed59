package conf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wrenmq/wren/protocol/nkey"
)

// checkUserNKey reports why s is not a public user nkey: 56 base32
// characters starting with "U", whose last two bytes are a CRC-16 of the
// rest.
func checkUserNKey(s string) error {
	switch {
	case strings.HasPrefix(s, "SU"):
		return errors.New("this is a user seed, which must stay secret; use the public key, which starts with \"U\"")
	case !strings.HasPrefix(s, "U"):
		return fmt.Errorf("%q is not a user nkey; expected a public key starting with \"U\"", abbreviate(s))
	case len(s) != 56:
		return fmt.Errorf("user nkey has %d characters; expected 56", len(s))
	}
	switch _, err := nkey.DecodePublic(nkey.PrefixUser, s); {
	case errors.Is(err, nkey.ErrInvalidChecksum):
		return fmt.Errorf("%q has a bad checksum; check for a typo", abbreviate(s))
	case err != nil:
		return fmt.Errorf("%q is not a valid nkey", abbreviate(s))
	}
	return nil
}

// abbreviate shortens a long credential for an error message.
func abbreviate(s string) string {
	if len(s) > 12 {
		return s[:8] + "…"
	}
	return s
}

// isBcrypt reports whether a password or token is meant as a bcrypt hash.
func isBcrypt(s string) bool { return strings.HasPrefix(s, "$2") }

// checkBcrypt reports why s, which starts like a bcrypt hash, is not one:
// "$2a$", "$2b$" or "$2y$", a two-digit cost from 04 to 31, "$", and 53
// characters of bcrypt's base64 alphabet.
func checkBcrypt(s string) error {
	bad := errors.New("malformed bcrypt hash; expected \"$2a$\" followed by a cost, '$' and 53 characters")
	if len(s) != 60 || s[0] != '$' || s[1] != '2' || !strings.ContainsRune("aby", rune(s[2])) || s[3] != '$' || s[6] != '$' {
		return bad
	}
	if s[4] < '0' || s[4] > '3' || s[5] < '0' || s[5] > '9' {
		return bad
	}
	if cost := int(s[4]-'0')*10 + int(s[5]-'0'); cost < 4 || cost > 31 {
		return fmt.Errorf("bcrypt cost %d is out of range; expected 04 to 31", cost)
	}
	for _, c := range []byte(s[7:]) {
		if !(c == '.' || c == '/' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return bad
		}
	}
	return nil
}
