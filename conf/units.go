package conf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Size is a number of bytes. In the config file it is written either as an
// integer number of bytes (max_payload = 1048576) or as a string with a unit
// (max_payload = "1MB").
//
// Units are powers of 1024, as in nats-server, and are case-insensitive:
//
//	B                 1
//	K, KB, KiB        1024
//	M, MB, MiB        1024²
//	G, GB, GiB        1024³
//	T, TB, TiB        1024⁴
//
// The number must be a whole non-negative integer ("1.5GB" is rejected: write
// "1536MB"). A space between the number and the unit is allowed.
type Size int64

// Size units.
const (
	Byte     Size = 1
	Kilobyte      = 1024 * Byte
	Megabyte      = 1024 * Kilobyte
	Gigabyte      = 1024 * Megabyte
	Terabyte      = 1024 * Gigabyte
)

var sizeUnits = []struct {
	symbol string // how String writes the unit
	names  []string
	mult   Size
}{
	{"B", []string{"", "b"}, Byte},
	{"KB", []string{"k", "kb", "kib"}, Kilobyte},
	{"MB", []string{"m", "mb", "mib"}, Megabyte},
	{"GB", []string{"g", "gb", "gib"}, Gigabyte},
	{"TB", []string{"t", "tb", "tib"}, Terabyte},
}

var errSizeSyntax = errors.New(`expected a size such as "64MB", "512KB" or "4096"`)

// ParseSize parses a size such as "64MB", "1KiB", "512k" or "4096".
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		if strings.HasPrefix(t, "-") {
			return 0, fmt.Errorf("size %q must not be negative", s)
		}
		return 0, errSizeSyntax
	}
	unit := strings.ToLower(strings.TrimSpace(t[i:]))
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	for _, u := range sizeUnits {
		for _, name := range u.names {
			if unit != name {
				continue
			}
			if n > math.MaxInt64/int64(u.mult) {
				return 0, fmt.Errorf("size %q is too large", s)
			}
			return Size(n) * u.mult, nil
		}
	}
	return 0, fmt.Errorf("unknown size unit %q; expected B, KB, MB, GB or TB", strings.TrimSpace(t[i:]))
}

// String formats s with the largest unit that divides it exactly, so that
// ParseSize(s.String()) == s: 1048576 is "1MB", 1000 is "1000B".
func (s Size) String() string {
	if s < 0 {
		return strconv.FormatInt(int64(s), 10) + "B"
	}
	for i := len(sizeUnits) - 1; i > 0; i-- {
		u := sizeUnits[i]
		if s != 0 && s%u.mult == 0 {
			return strconv.FormatInt(int64(s/u.mult), 10) + u.symbol
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// Int64 returns s as a plain number of bytes.
func (s Size) Int64() int64 { return int64(s) }

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseSize, so that a
// Size can be set from a command-line flag (flag.TextVar).
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Duration is a length of time. In the config file it is written either as a
// string in Go's duration syntax ("2m", "500ms", "1h30m"; units ns, us, ms,
// s, m, h) or as a number of seconds (ping_interval = 120, timeout = 0.5).
type Duration time.Duration

var errDurationSyntax = errors.New(`expected a duration such as "2m", "500ms" or "10s", or a number of seconds`)

// ParseDuration parses a duration such as "2m" or "500ms". A bare number is
// a number of seconds: "120" is two minutes, "0.5" is half a second.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errDurationSyntax
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		return secondsToDuration(f)
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, errDurationSyntax
	}
	return Duration(d), nil
}

// secondsToDuration converts a number of seconds, checking the range.
func secondsToDuration(f float64) (Duration, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(math.MaxInt64)/float64(time.Second) {
		return 0, errors.New("duration is out of range")
	}
	return Duration(math.Round(f * float64(time.Second))), nil
}

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String formats d in Go's duration syntax without zero trailing units:
// "2m" rather than "2m0s", "1h" rather than "1h0m0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseDuration, so
// that a Duration can be set from a command-line flag (flag.TextVar).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
