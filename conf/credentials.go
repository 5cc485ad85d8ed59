package conf

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

// nkeyEncoding is the base32 alphabet of nkeys, without padding.
var nkeyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// nkeyUserPrefix is the first byte of a decoded public user nkey ('U').
const nkeyUserPrefix = 20 << 3

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
	raw, err := nkeyEncoding.DecodeString(s)
	if err != nil || len(raw) != 35 || raw[0] != nkeyUserPrefix {
		return fmt.Errorf("%q is not a valid nkey", abbreviate(s))
	}
	body, sum := raw[:33], uint16(raw[33])|uint16(raw[34])<<8
	if crc16(body) != sum {
		return fmt.Errorf("%q has a bad checksum; check for a typo", abbreviate(s))
	}
	return nil
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), the checksum
// nkeys carry.
func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
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
