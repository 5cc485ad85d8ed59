package auth

import (
	"encoding/base64"
	"testing"
)

func TestNewNonce(t *testing.T) {
	a := mustNew(t, Config{})
	seen := make(map[string]bool)
	for range 100 {
		n := a.NewNonce()
		if len(n) != 15 || NonceLen != 15 {
			t.Fatalf("nonce %q has %d bytes (NonceLen %d); want 15", n, len(n), NonceLen)
		}
		raw, err := base64.RawURLEncoding.DecodeString(string(n))
		if err != nil || len(raw) != 11 {
			t.Fatalf("nonce %q decodes to %d bytes, %v; want 11 bytes of base64 RawURL", n, len(raw), err)
		}
		if seen[string(n)] {
			t.Fatalf("nonce %q repeated", n)
		}
		seen[string(n)] = true
	}
}

func TestAuthenticateNkey(t *testing.T) {
	kp, pub := userPub(t)
	other, otherPub := userPub(t)
	unknown, unknownPub := userPub(t)
	a := mustNew(t, Config{Users: []User{
		{Nkey: pub},
		{Nkey: otherPub, Name: "gateway-7"},
		{Name: "alice", Password: "wonderland"},
	}})
	nonce := a.NewNonce()
	otherNonce := a.NewNonce()

	sign := func(k interface{ Sign([]byte) ([]byte, error) }, n []byte, enc *base64.Encoding) string {
		t.Helper()
		sig, err := k.Sign(n)
		if err != nil {
			t.Fatal(err)
		}
		return enc.EncodeToString(sig)
	}
	raw, std := base64.RawURLEncoding, base64.StdEncoding

	runAuthCases(t, a, nonce, []authCase{
		{"signed", ConnectCreds{Nkey: pub, Sig: sign(kp, nonce, raw)}, true, pub, MethodNkey},
		{"std base64 sig", ConnectCreds{Nkey: pub, Sig: sign(kp, nonce, std)}, true, pub, MethodNkey},
		{"named nkey user", ConnectCreds{Nkey: otherPub, Sig: sign(other, nonce, raw)}, true, "gateway-7", MethodNkey},
		{"signed by another key", ConnectCreds{Nkey: pub, Sig: sign(other, nonce, raw)}, false, "", ""},
		{"replayed from another nonce", ConnectCreds{Nkey: pub, Sig: sign(kp, otherNonce, raw)}, false, "", ""},
		{"no signature", ConnectCreds{Nkey: pub}, false, "", ""},
		{"garbage signature", ConnectCreds{Nkey: pub, Sig: "!!not base64!!"}, false, "", ""},
		{"truncated signature", ConnectCreds{Nkey: pub, Sig: sign(kp, nonce, raw)[:20]}, false, "", ""},
		{"unknown nkey", ConnectCreds{Nkey: unknownPub, Sig: sign(unknown, nonce, raw)}, false, "", ""},
		{"nkey wins over password", ConnectCreds{Nkey: pub, User: "alice", Pass: "wonderland"}, false, "", ""},
		{"password user alongside", ConnectCreds{User: "alice", Pass: "wonderland"}, true, "alice", MethodPassword},
	})

	t.Run("no nonce issued", func(t *testing.T) {
		_, err := a.Authenticate(ConnectCreds{Nkey: pub, Sig: sign(kp, nil, raw)}, nil)
		if err == nil {
			t.Errorf("Authenticate without a nonce err = nil; want an error")
		}
	})

	t.Run("nkey only config without nkey", func(t *testing.T) {
		only := mustNew(t, Config{Users: []User{{Nkey: pub}}})
		runAuthCases(t, only, nonce, []authCase{
			{"nothing", ConnectCreds{}, false, "", ""},
			{"user and password", ConnectCreds{User: pub, Pass: "x"}, false, "", ""},
		})
	})
}

func encodeSig(sig []byte) string { return base64.RawURLEncoding.EncodeToString(sig) }
