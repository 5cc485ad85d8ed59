package nkey

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

// TestAgreesWithNkeys checks keys made here against the reference
// library NATS clients use, both ways.
func TestAgreesWithNkeys(t *testing.T) {
	mine, err := CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed := mine.Seed()
	if !bytes.HasPrefix(seed, []byte("SU")) || !strings.HasPrefix(mine.PublicKey(), "U") {
		t.Fatalf("seed %.2s... public %.1s...: want SU and U", seed, mine.PublicKey())
	}
	ref, err := nkeys.FromSeed(seed)
	if err != nil {
		t.Fatalf("reference rejects our seed: %v", err)
	}
	refPub, _ := ref.PublicKey()
	if refPub != mine.PublicKey() {
		t.Fatalf("public keys differ: %s vs %s", refPub, mine.PublicKey())
	}
	msg := []byte("a nonce")
	if err := ref.Verify(msg, mine.Sign(msg)); err != nil {
		t.Fatalf("reference does not verify our signature: %v", err)
	}

	for _, create := range []func() (nkeys.KeyPair, error){nkeys.CreateUser, nkeys.CreateAccount, nkeys.CreateOperator, nkeys.CreateServer, nkeys.CreateCluster} {
		ref, _ := create()
		refSeed, _ := ref.Seed()
		refPub, _ := ref.PublicKey()
		kp, err := FromSeed(refSeed)
		if err != nil {
			t.Fatalf("FromSeed(%.2s...): %v", refSeed, err)
		}
		if kp.PublicKey() != refPub || !bytes.Equal(kp.Seed(), refSeed) {
			t.Fatalf("%.2s...: keys differ from the reference", refSeed)
		}
		sig, _ := ref.Sign(msg)
		pub, err := DecodePublic(kp.Prefix(), refPub)
		if err != nil {
			t.Fatalf("DecodePublic(%s): %v", refPub, err)
		}
		if err := Verify(pub, msg, sig); err != nil {
			t.Fatalf("reference signature by %s: %v", refPub, err)
		}
		if Verify(pub, []byte("another nonce"), sig) == nil {
			t.Fatal("a signature of another message verifies")
		}
	}
}

func TestRejectsBadKeys(t *testing.T) {
	user, _ := CreateUser()
	pub := user.PublicKey()
	if !IsValidPublicUserKey(pub) {
		t.Fatalf("%s not valid", pub)
	}
	acct, _ := nkeys.CreateAccount()
	apub, _ := acct.PublicKey()
	flipped := []byte(pub)
	if flipped[10] == 'A' {
		flipped[10] = 'B'
	} else {
		flipped[10] = 'A'
	}
	for _, bad := range []string{"", "U", apub, string(flipped), pub[:len(pub)-1], pub + "A", strings.ToLower(pub), string(user.Seed())} {
		if IsValidPublicUserKey(bad) {
			t.Errorf("%q accepted as a public user key", bad)
		}
	}
	if _, err := DecodePublic(PrefixUser, string(flipped)); !errors.Is(err, ErrInvalidChecksum) {
		t.Errorf("one changed letter: %v, want %v", err, ErrInvalidChecksum)
	}
	for _, bad := range []string{"", pub, "SUAAAA", string(user.Seed()[:20])} {
		if _, err := FromSeed([]byte(bad)); err == nil {
			t.Errorf("FromSeed(%q) accepted", bad)
		}
	}
	kp, _ := CreateUser()
	kp.Wipe()
	if kp.priv != nil {
		t.Error("Wipe left the key")
	}
}

func TestParseDecorated(t *testing.T) {
	ref, _ := nkeys.CreateUser()
	seed, _ := ref.Seed()
	pub, _ := ref.PublicKey()
	const jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJ4In0.c2ln-_x"
	creds := "-----BEGIN NATS USER JWT-----\n" + jwt + "\n------END NATS USER JWT------\n\n" +
		"************************* IMPORTANT *************************\nNKEY Seed printed below can be used to sign and prove identity.\n\n" +
		"-----BEGIN USER NKEY SEED-----\n" + string(seed) + "\n------END USER NKEY SEED------\n\n*************************************************************\n"
	for name, file := range map[string]string{"unix": creds, "crlf": strings.ReplaceAll(creds, "\n", "\r\n")} {
		if got := ParseDecoratedJWT([]byte(file)); got != jwt {
			t.Errorf("%s: JWT = %q", name, got)
		}
		kp, err := ParseDecoratedSeed([]byte(file))
		if err != nil || kp.PublicKey() != pub {
			t.Errorf("%s: seed: %v", name, err)
		}
		refJWT, _ := nkeys.ParseDecoratedJWT([]byte(file))
		if refJWT != jwt {
			t.Errorf("%s: the reference reads JWT %q", name, refJWT)
		}
	}
	if got := ParseDecoratedJWT([]byte(jwt + "\n")); got != jwt {
		t.Errorf("bare JWT = %q", got)
	}
	kp, err := ParseDecoratedSeed([]byte("# my key\n  " + string(seed) + "  \n"))
	if err != nil || kp.PublicKey() != pub {
		t.Errorf("seed file: %v", err)
	}
	if _, err := ParseDecoratedSeed([]byte("nothing here\n")); !errors.Is(err, ErrNoSeed) {
		t.Errorf("no seed: %v, want %v", err, ErrNoSeed)
	}
	only := "-----BEGIN A-----\nSXNOTASEED\n------END A------\n-----BEGIN B-----\nNOTASEED\n------END B------\n"
	if _, err := ParseDecoratedSeed([]byte(only)); !errors.Is(err, ErrInvalidSeed) {
		t.Errorf("fenced non-seed: %v, want %v", err, ErrInvalidSeed)
	}
}
