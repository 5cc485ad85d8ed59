package conf

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		werr string
	}{
		{"0", 0, ""},
		{"4096", 4096, ""},
		{"512B", 512, ""},
		{"512b", 512, ""},
		{"1K", 1024, ""},
		{"512k", 512 * 1024, ""},
		{"1KB", 1024, ""},
		{"1KiB", 1024, ""},
		{"1kib", 1024, ""},
		{"64MB", 64 << 20, ""},
		{"64 MB", 64 << 20, ""},
		{" 8m ", 8 << 20, ""},
		{"1MiB", 1 << 20, ""},
		{"2GB", 2 << 30, ""},
		{"2g", 2 << 30, ""},
		{"3TB", 3 << 40, ""},
		{"8388607TB", 8388607 << 40, ""},
		{"8388608TB", 0, `size "8388608TB" is too large`},
		{"99999999999999999999", 0, `size "99999999999999999999" is too large`},
		{"", 0, `expected a size such as "64MB", "512KB" or "4096"`},
		{"MB", 0, `expected a size such as "64MB", "512KB" or "4096"`},
		{"-1MB", 0, `size "-1MB" must not be negative`},
		{"1.5GB", 0, `unknown size unit ".5GB"; expected B, KB, MB, GB or TB`},
		{"10PB", 0, `unknown size unit "PB"; expected B, KB, MB, GB or TB`},
		{"10 bytes", 0, `unknown size unit "bytes"; expected B, KB, MB, GB or TB`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if gerr := errString(err); got != tt.want || gerr != tt.werr {
				t.Errorf("ParseSize(%q) = %d, %q; want %d, %q", tt.in, got, gerr, tt.want, tt.werr)
			}
		})
	}
}

func TestSizeString(t *testing.T) {
	tests := []struct {
		in   Size
		want string
	}{
		{0, "0B"},
		{1, "1B"},
		{1000, "1000B"},
		{1024, "1KB"},
		{1536, "1536B"},
		{4096, "4KB"},
		{1 << 20, "1MB"},
		{1536 << 20, "1536MB"},
		{8 << 30, "8GB"},
		{2 << 40, "2TB"},
		{-5, "-5B"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Size(%d).String() = %q; want %q", int64(tt.in), got, tt.want)
		}
		if tt.in < 0 {
			continue
		}
		var back Size
		if err := back.UnmarshalText([]byte(tt.want)); err != nil || back != tt.in {
			t.Errorf("UnmarshalText(%q) = %d, %v; want %d, nil", tt.want, int64(back), err, int64(tt.in))
		}
	}
}

func TestParseDuration(t *testing.T) {
	const syntax = `expected a duration such as "2m", "500ms" or "10s", or a number of seconds`
	tests := []struct {
		in   string
		want time.Duration
		werr string
	}{
		{"2m", 2 * time.Minute, ""},
		{"500ms", 500 * time.Millisecond, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"10s", 10 * time.Second, ""},
		{"250us", 250 * time.Microsecond, ""},
		{"0s", 0, ""},
		{"0", 0, ""},
		{"120", 2 * time.Minute, ""},
		{"0.5", 500 * time.Millisecond, ""},
		{" 3s ", 3 * time.Second, ""},
		{"-1s", -time.Second, ""},
		{"", 0, syntax},
		{"2 minutes", 0, syntax},
		{"5d", 0, syntax},
		{"1e300", 0, "duration is out of range"},
		{"NaN", 0, "duration is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if gerr := errString(err); got.Duration() != tt.want || gerr != tt.werr {
				t.Errorf("ParseDuration(%q) = %v, %q; want %v, %q", tt.in, got.Duration(), gerr, tt.want, tt.werr)
			}
		})
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{500 * time.Millisecond, "500ms"},
		{10 * time.Second, "10s"},
		{2 * time.Minute, "2m"},
		{90 * time.Second, "1m30s"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{time.Hour + time.Second, "1h0m1s"},
	}
	for _, tt := range tests {
		if got := Duration(tt.in).String(); got != tt.want {
			t.Errorf("Duration(%v).String() = %q; want %q", tt.in, got, tt.want)
		}
		var back Duration
		if err := back.UnmarshalText([]byte(tt.want)); err != nil || back.Duration() != tt.in {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v, nil", tt.want, back.Duration(), err, tt.in)
		}
	}
}

// errString returns err's message, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
