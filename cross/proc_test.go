package main

import (
	"strings"
	"testing"
)

const statusSample = `Name:	wren
Umask:	0022
State:	S (sleeping)
VmPeak:	 1240368 kB
VmHWM:	    8120 kB
VmRSS:	    7288 kB
RssAnon:	     968 kB
RssFile:	    6320 kB
Threads:	6
`

func TestParseMemStatus(t *testing.T) {
	m, err := parseMemStatus(strings.NewReader(statusSample))
	if err != nil {
		t.Fatal(err)
	}
	want := memStatus{RSS: 7288 << 10, HWM: 8120 << 10, Anon: 968 << 10}
	if m != want {
		t.Errorf("parseMemStatus = %+v; want %+v", m, want)
	}
}

func TestParseMemStatusErrors(t *testing.T) {
	for _, in := range []string{
		"Name:\tkthreadd\nState:\tS\n",
		"VmRSS:\t12 MB\nVmHWM:\t12 kB\n",
		"VmRSS:\tlots kB\nVmHWM:\t12 kB\n",
	} {
		if _, err := parseMemStatus(strings.NewReader(in)); err == nil {
			t.Errorf("parseMemStatus(%q) succeeded; want an error", in)
		}
	}
}
