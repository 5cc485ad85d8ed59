package natsc

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nkeys"
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
	if userJWT, err = nkeys.ParseDecoratedJWT(b); err != nil || strings.Count(userJWT, ".") != 2 || strings.ContainsAny(userJWT, " \r\n") {
		return "", "", fmt.Errorf("creds: no user JWT in %s", file)
	}
	kp, err := nkeys.ParseDecoratedUserNKey(b)
	if err != nil {
		return "", "", fmt.Errorf("creds: %s: %w", file, err)
	}
	defer kp.Wipe()
	s, err := kp.Sign([]byte(nonce))
	if err != nil {
		return "", "", fmt.Errorf("creds: %w", err)
	}
	return userJWT, base64.RawURLEncoding.EncodeToString(s), nil
}
