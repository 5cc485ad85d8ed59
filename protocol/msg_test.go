package protocol

import (
	"reflect"
	"testing"
)

func TestMsgClone(t *testing.T) {
	m := &Msg{
		Subject: []byte("foo.bar"),
		Reply:   []byte("_INBOX.1"),
		Header:  []byte("NATS/1.0\r\nA: b\r\n\r\n"),
		Data:    []byte("hello"),
	}
	c := m.Clone()
	want := &Msg{
		Subject: []byte("foo.bar"),
		Reply:   []byte("_INBOX.1"),
		Header:  []byte("NATS/1.0\r\nA: b\r\n\r\n"),
		Data:    []byte("hello"),
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Clone = %q; want %q", *c, *want)
	}

	// The clone does not share the original's bytes.
	for _, b := range [][]byte{m.Subject, m.Reply, m.Header, m.Data} {
		for i := range b {
			b[i] = '#'
		}
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("after changing the original, clone = %q; want %q", *c, *want)
	}

	// Appending to one field of the clone leaves the others alone.
	_ = append(c.Subject, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
	_ = append(c.Reply, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
	_ = append(c.Header, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("after appending to clone fields, clone = %q; want %q", *c, *want)
	}

	// A missing header stays missing and a missing reply stays nil.
	c = (&Msg{Subject: []byte("a"), Data: []byte("x")}).Clone()
	if c.Header != nil || c.Reply != nil || string(c.Subject) != "a" || string(c.Data) != "x" {
		t.Errorf("Clone of a bare message = %q", *c)
	}
	c = (&Msg{Subject: []byte("a"), Header: []byte{}, Data: []byte("x")}).Clone()
	if c.Header == nil {
		t.Errorf("Clone turned an empty header into no header")
	}
}
