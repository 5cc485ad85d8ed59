package mqtt

import "testing"

func TestTopicToSubject(t *testing.T) {
	tests := []struct {
		topic, subject string
		filter         bool
		bad            bool
	}{
		{"a/b/c", "a.b.c", false, false},
		{"/a", "/.a", false, false},
		{"a/", "a./", false, false},
		{"a//b", "a./.b", false, false},
		{"/", "/./", false, false},
		{"a.b/c", "a//b.c", false, false},
		{"a/+/c", "a.*.c", true, false},
		{"a/#", "a.>", true, false},
		{"#", ">", true, false},
		{"+", "*", true, false},
		{"a/+", "", false, true},
		{"a/#/b", "", true, true},
		{"a/b#", "", true, true},
		{"a+/b", "", true, true},
		{"a b", "", false, true},
		{"a/*", "", false, true},
		{"a/>", "", true, true},
		{"", "", false, true},
		{"a*b/c>", "a*b.c>", false, false},
		{"$SYS/x", "$SYS.x", false, false},
	}
	for _, tt := range tests {
		conv := TopicToSubject
		if tt.filter {
			conv = FilterToSubject
		}
		got, err := conv(nil, []byte(tt.topic))
		if tt.bad {
			if err == nil {
				t.Errorf("%q (filter %v) = %q; want an error", tt.topic, tt.filter, got)
			}
			continue
		}
		if err != nil || string(got) != tt.subject {
			t.Errorf("%q (filter %v) = %q, %v; want %q", tt.topic, tt.filter, got, err, tt.subject)
		}
		if !tt.filter {
			if back := SubjectToTopic(nil, got); string(back) != tt.topic {
				t.Errorf("SubjectToTopic(%q) = %q; want %q", got, back, tt.topic)
			}
		}
	}
}

func TestNeedsParent(t *testing.T) {
	for s, want := range map[string]bool{"a.>": true, ">": false, "a.b.>": true, "a.*": false, "/.>": true} {
		if got := NeedsParent([]byte(s)); got != want {
			t.Errorf("NeedsParent(%q) = %v; want %v", s, got, want)
		}
	}
}

func TestShareGroup(t *testing.T) {
	tests := []struct {
		in, group, filter string
		shared, bad       bool
	}{
		{"a/b", "", "a/b", false, false},
		{"$share/g/a/#", "g", "a/#", true, false},
		{"$share/g", "", "", true, true},
		{"$share//a", "", "", true, true},
		{"$share/g+/a", "", "", true, true},
		{"$share/g/", "", "", true, true},
	}
	for _, tt := range tests {
		g, f, ok, err := ShareGroup([]byte(tt.in))
		if ok != tt.shared || (err != nil) != tt.bad || !tt.bad && (string(g) != tt.group || string(f) != tt.filter) {
			t.Errorf("ShareGroup(%q) = %q, %q, %v, %v", tt.in, g, f, ok, err)
		}
	}
}

// FuzzTopicRoundTrip: every topic name that maps onto a subject maps back to
// itself.
func FuzzTopicRoundTrip(f *testing.F) {
	for _, s := range []string{"a/b", "/", "a//b/", "x.y/z", "$share/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, topic string) {
		s, err := TopicToSubject(nil, []byte(topic))
		if err != nil {
			return
		}
		if back := SubjectToTopic(nil, s); string(back) != topic {
			t.Fatalf("%q -> %q -> %q", topic, s, back)
		}
	})
}
