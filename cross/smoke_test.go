package main

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestReportSmoke(t *testing.T) {
	pass := []smokeResult{
		{target: "linux-arm64", runner: "qemu-aarch64-static -cpu cortex-a53", want: "pass", note: "stream message survived a restart"},
		{target: "linux-armv7", runner: "qemu-arm-static -cpu arm1176", want: "refuse", note: "refused: illegal instruction"},
	}
	var b bytes.Buffer
	if err := reportSmoke(&b, pass); err != nil {
		t.Fatalf("reportSmoke = %v; want nil", err)
	}
	for _, want := range []string{"| linux-arm64 | qemu-aarch64-static -cpu cortex-a53 | pass | ok |", "2 passed, 0 failed"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	failed := append(pass, smokeResult{target: "linux-armv6", runner: "qemu-arm-static -cpu arm1176", want: "pass", err: errors.New("round 2: stream after restart: no responders")})
	b.Reset()
	err := reportSmoke(&b, failed)
	if err == nil || !strings.Contains(err.Error(), "linux-armv6 (pass)") {
		t.Errorf("reportSmoke = %v; want a failure naming linux-armv6", err)
	}
	if !strings.Contains(b.String(), "no responders") {
		t.Errorf("report does not explain the failure:\n%s", b.String())
	}
}

func TestRunnerNative(t *testing.T) {
	host := runtime.GOOS + "-" + runtime.GOARCH
	tg, ok := lookupTarget(host)
	if !ok {
		t.Fatalf("the host, %s, is not a build target", host)
	}
	prefix, how, err := runner(tg, "")
	if err != nil || prefix != nil || how != "native" {
		t.Errorf("runner(%s) = %v, %q, %v; want no prefix, native", host, prefix, how, err)
	}
}
