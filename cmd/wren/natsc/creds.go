package natsc

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/wrenmq/wren/protocol/nkey"
)

// signCreds reads a .creds file (a user JWT and its nkey seed, as nsc
// writes them) and returns the JWT and the nonce signed by the seed, for
// a server in operator mode.
func signCreds(file, nonce string) (userJWT, sig string, err error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", "", fmt.Errorf("creds: %w", err)
	}
	// A file without the JWT block parses as itself: a JWT has three
	// dot-separated parts and no spaces.
	if userJWT = nkey.ParseDecoratedJWT(b); strings.Count(userJWT, ".") != 2 || strings.ContainsAny(userJWT, " \r\n") {
		return "", "", fmt.Errorf("creds: no user JWT in %s", file)
	}
	kp, err := nkey.ParseDecoratedSeed(b)
	if err != nil {
		return "", "", fmt.Errorf("creds: %s: %w", file, err)
	}
	defer kp.Wipe()
	if kp.Prefix() != nkey.PrefixUser {
		return "", "", fmt.Errorf("creds: %s holds no user seed (SU...)", file)
	}
	return userJWT, base64.RawURLEncoding.EncodeToString(kp.Sign([]byte(nonce))), nil
}
