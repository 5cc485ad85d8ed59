package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"crypto/ed25519"

	"github.com/wrenmq/wren/protocol/nkey"
)

// nonceRawLen is the number of random bytes in a nonce; base64 RawURL turns
// 11 bytes into 15 characters.
const nonceRawLen = 11

// NonceLen is the length of the nonces NewNonce returns.
const NonceLen = 15 // base64 RawURL of nonceRawLen bytes

// NewNonce returns a fresh nonce for the INFO line: 11 random bytes encoded
// as base64 RawURL (15 characters). The client signs these encoded bytes,
// so pass the same slice to Authenticate.
func (a *Authenticator) NewNonce() []byte {
	return newNonce()
}

func newNonce() []byte {
	var raw [nonceRawLen]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read does not fail
	out := make([]byte, NonceLen)
	base64.RawURLEncoding.Encode(out, raw[:])
	return out
}

// parseUserNkey checks that key is a valid public user nkey (U...) and
// returns its key pair for verifying signatures.
func parseUserNkey(key string) (ed25519.PublicKey, error) {
	pub, err := nkey.DecodePublic(nkey.PrefixUser, key)
	if err != nil {
		return nil, fmt.Errorf("nkey %q is not a valid public user key", clip(key))
	}
	return pub, nil
}

// verifyNonceSig checks that sig, base64 RawURL (or standard base64), is the
// signature of nonce by kp.
func verifyNonceSig(kp ed25519.PublicKey, nonce []byte, sig string) error {
	if len(nonce) == 0 {
		return errors.New("no nonce was issued")
	}
	if sig == "" {
		return errors.New("signature missing")
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		raw, err = base64.StdEncoding.DecodeString(sig)
		if err != nil {
			return errors.New("signature is not base64")
		}
	}
	if err := nkey.Verify(kp, nonce, raw); err != nil {
		return errors.New("signature does not verify")
	}
	return nil
}
