package nkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"errors"
)

// Role prefixes: the first byte of a decoded public key, which base32
// shows as the key's first letter.
const (
	PrefixOperator byte = 14 << 3 // 'O'
	PrefixServer   byte = 13 << 3 // 'N'
	PrefixCluster  byte = 2 << 3  // 'C'
	PrefixAccount  byte = 0       // 'A'
	PrefixUser     byte = 20 << 3 // 'U'
	prefixSeed     byte = 18 << 3 // 'S'
)

// Errors a caller can test for.
var (
	ErrInvalidEncoding = errors.New("nkey: invalid encoding")
	ErrInvalidChecksum = errors.New("nkey: invalid checksum")
	ErrInvalidPrefix   = errors.New("nkey: invalid prefix byte")
	ErrInvalidSeed     = errors.New("nkey: invalid seed")
	ErrNoSeed          = errors.New("nkey: no nkey seed found")
	ErrBadSignature    = errors.New("nkey: signature verification failed")
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// signingRole reports whether p is a role that signs (every one but the
// curve keys, which this package does not handle).
func signingRole(p byte) bool {
	switch p {
	case PrefixOperator, PrefixServer, PrefixCluster, PrefixAccount, PrefixUser:
		return true
	}
	return false
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), computed
// bit by bit: keys are short and handled once per connection.
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

// encode appends the checksum to raw and returns its base32 text.
func encode(raw []byte) []byte {
	raw = binary.LittleEndian.AppendUint16(raw, crc16(raw))
	out := make([]byte, b32.EncodedLen(len(raw)))
	b32.Encode(out, raw)
	return out
}

// decode returns the bytes of src with its checksum checked and removed.
func decode(src []byte) ([]byte, error) {
	raw := make([]byte, b32.DecodedLen(len(src)))
	n, err := b32.Decode(raw, src)
	if err != nil || n < 3 || b32.EncodedLen(n) != len(src) {
		return nil, ErrInvalidEncoding
	}
	raw = raw[:n]
	body, sum := raw[:n-2], binary.LittleEndian.Uint16(raw[n-2:])
	if crc16(body) != sum {
		return nil, ErrInvalidChecksum
	}
	return body, nil
}

// DecodePublic returns the Ed25519 key in the public nkey text key of
// role prefix.
func DecodePublic(prefix byte, key string) (ed25519.PublicKey, error) {
	raw, err := decode([]byte(key))
	if err != nil {
		return nil, err
	}
	if len(raw) != 1+ed25519.PublicKeySize {
		return nil, ErrInvalidEncoding
	}
	if raw[0] != prefix {
		return nil, ErrInvalidPrefix
	}
	return ed25519.PublicKey(raw[1:]), nil
}

// IsValidPublicUserKey reports whether key is a well-formed public user
// nkey (U...).
func IsValidPublicUserKey(key string) bool {
	_, err := DecodePublic(PrefixUser, key)
	return err == nil
}

// Verify checks that sig is the Ed25519 signature of msg by pub.
func Verify(pub ed25519.PublicKey, msg, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, msg, sig) {
		return ErrBadSignature
	}
	return nil
}

// KeyPair is a seed and the keys it derives.
type KeyPair struct {
	prefix byte
	priv   ed25519.PrivateKey
}

// CreateUser returns a fresh user key pair from crypto/rand.
func CreateUser() (*KeyPair, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	return &KeyPair{prefix: PrefixUser, priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// FromSeed returns the key pair of the seed text seed (S then the role
// letter, as in SU..., SA..., SO...).
func FromSeed(seed []byte) (*KeyPair, error) {
	raw, err := decode(seed)
	if err != nil {
		return nil, err
	}
	if len(raw) != 2+ed25519.SeedSize || raw[0]&0xf8 != prefixSeed {
		return nil, ErrInvalidSeed
	}
	role := raw[0]&7<<5 | raw[1]&0xf8>>3
	if !signingRole(role) {
		return nil, ErrInvalidPrefix
	}
	return &KeyPair{prefix: role, priv: ed25519.NewKeyFromSeed(raw[2:])}, nil
}

// Prefix is the key pair's role prefix.
func (kp *KeyPair) Prefix() byte { return kp.prefix }

// Seed is the seed text, S then the role letter.
func (kp *KeyPair) Seed() []byte {
	raw := make([]byte, 0, 2+ed25519.SeedSize+2)
	raw = append(raw, prefixSeed|kp.prefix>>5, kp.prefix&31<<3)
	return encode(append(raw, kp.priv.Seed()...))
}

// PublicKey is the public key text, starting with the role letter.
func (kp *KeyPair) PublicKey() string {
	raw := make([]byte, 0, 1+ed25519.PublicKeySize+2)
	raw = append(raw, kp.prefix)
	return string(encode(append(raw, kp.priv.Public().(ed25519.PublicKey)...)))
}

// Sign returns the Ed25519 signature of msg.
func (kp *KeyPair) Sign(msg []byte) []byte { return ed25519.Sign(kp.priv, msg) }

// Wipe overwrites the private key in memory; the key pair is unusable
// after.
func (kp *KeyPair) Wipe() {
	clear(kp.priv)
	kp.priv = nil
}
