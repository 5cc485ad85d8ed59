package jetstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/wrenmq/wren/protocol"
)

// defaultDuplicateWindow is how long Nats-Msg-Id values are remembered when
// a stream does not say.
const defaultDuplicateWindow = 2 * time.Minute

// minWindow is the shortest max_age or duplicate_window a stream may have:
// the stream checks them on a timer, not per message.
const minWindow = 100 * time.Millisecond

// reservedSubjects may not be captured by a stream: the API and the
// subjects acks and flow control travel on.
var reservedSubjects = []string{"$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "$JS.EVENT.>"}

// validName reports whether s may name a stream or consumer: it becomes a
// subject token, a directory name and a JSON string (which cannot carry
// invalid UTF-8 unchanged).
func validName(s string) bool {
	if s == "" || len(s) > 255 || s == "." || s == ".." || !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '.' || c == '*' || c == '>' || c == '/' || c == '\\' {
			return false
		}
	}
	return true
}

// normalize fills in defaults and checks a stream configuration.
func normalize(in StreamConfig) (StreamConfig, *APIError) {
	c := in
	if !validName(c.Name) {
		return c, errStreamConfig("invalid stream name %q: names must be UTF-8 and cannot contain whitespace, '.', '*', '>', path separators or control characters", c.Name)
	}
	for _, f := range []struct {
		set  bool
		what string
	}{
		{len(c.Mirror) > 0 && string(c.Mirror) != "null", "mirrors"},
		{len(c.Sources) > 0 && string(c.Sources) != "null" && string(c.Sources) != "[]", "sources"},
		{len(c.RePublish) > 0 && string(c.RePublish) != "null", "republish"},
		{len(c.SubjectTransform) > 0 && string(c.SubjectTransform) != "null", "subject transforms"},
		{c.Sealed, "sealed streams"},
		{c.MirrorDirect, "mirror direct gets"},
	} {
		if f.set {
			return c, errStreamConfig("%s are not supported by this server", f.what)
		}
	}
	c.Placement, c.ConsumerLimits = nil, nil
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Replicas > 1 {
		return c, errReplicas()
	}
	if c.Replicas < 0 {
		return c, errStreamConfig("replicas must be 1")
	}
	switch c.Storage {
	case "":
		c.Storage = StorageFile
	case StorageFile, StorageMemory:
	default:
		return c, errStreamConfig("invalid storage type %q: want file or memory", c.Storage)
	}
	switch c.Retention {
	case "":
		c.Retention = RetentionLimits
	case RetentionLimits, RetentionInterest, RetentionWorkQueue:
	default:
		return c, errStreamConfig("invalid retention %q: want limits, interest or workqueue", c.Retention)
	}
	switch c.Discard {
	case "":
		c.Discard = DiscardOld
	case DiscardOld, DiscardNew:
	default:
		return c, errStreamConfig("invalid discard policy %q: want old or new", c.Discard)
	}
	if c.DiscardNewPerSubject && (c.Discard != DiscardNew || c.MaxMsgsPerSubject <= 0) {
		return c, errStreamConfig("discard new per subject requires discard new policy and max msgs per subject to be set")
	}
	if c.DenyPurge && c.AllowRollup {
		return c, errStreamConfig("roll-ups require the purge permission")
	}
	switch c.Compression {
	case "":
		c.Compression = CompressionNone
	case CompressionNone, CompressionS2:
	default:
		return c, errStreamConfig("invalid compression %q: want none or s2", c.Compression)
	}
	for _, p := range []*int64{&c.MaxMsgs, &c.MaxBytes, &c.MaxMsgsPerSubject} {
		if *p == 0 {
			*p = -1
		}
		if *p < -1 {
			*p = -1
		}
	}
	if c.MaxMsgSize == 0 || c.MaxMsgSize < -1 {
		c.MaxMsgSize = -1
	}
	if c.MaxConsumers == 0 || c.MaxConsumers < -1 {
		c.MaxConsumers = -1
	}
	if c.MaxAge < 0 {
		return c, errStreamConfig("max age needs to be >= 0")
	}
	if c.MaxAge > 0 && c.MaxAge < minWindow {
		return c, errStreamConfig("max age needs to be >= 100ms")
	}
	if c.Duplicates < 0 {
		return c, errStreamConfig("duplicates window can not be negative")
	}
	if c.Duplicates == 0 {
		c.Duplicates = defaultDuplicateWindow
		if c.MaxAge > 0 && c.MaxAge < c.Duplicates {
			c.Duplicates = c.MaxAge
		}
	}
	if c.MaxAge > 0 && c.Duplicates > c.MaxAge {
		return c, errStreamConfig("duplicates window can not be larger then max age")
	}
	if c.Duplicates < minWindow {
		return c, errStreamConfig("duplicates window needs to be >= 100ms")
	}
	if len(c.Subjects) == 0 {
		c.Subjects = []string{c.Name}
	}
	for i, s := range c.Subjects {
		if !protocol.ValidFilter(s) {
			return c, errStreamConfig("invalid subject %q", s)
		}
		for _, r := range reservedSubjects {
			if protocol.Overlap(s, r) {
				return c, errStreamConfig("subject %q overlaps the reserved subjects %s", s, r)
			}
		}
		for _, o := range c.Subjects[:i] {
			if o == s {
				return c, errStreamConfig("duplicate subjects detected")
			}
			if protocol.Overlap(o, s) {
				return c, errStreamConfig("subjects %q and %q overlap", o, s)
			}
		}
	}
	if e := syncDeadLetter(&c); e != nil {
		return c, e
	}
	if c.DeadLetter != "" {
		if !validName(c.DeadLetter) {
			return c, errStreamConfig("invalid dead letter stream name %q", c.DeadLetter)
		}
		if c.DeadLetter == c.Name {
			return c, errStreamConfig("a stream can not be its own dead letter stream")
		}
	}
	return c, nil
}

// sameConfig reports whether two normalized configurations are equal.
func sameConfig(a, b StreamConfig) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// checkUpdate says whether a running stream may move from old to next.
func checkUpdate(old, next StreamConfig) error {
	switch {
	case old.Storage != next.Storage:
		return errors.New("stream configuration update can not change storage type")
	case old.Retention != next.Retention:
		return errors.New("stream configuration update can not change retention policy")
	case old.FirstSeq != next.FirstSeq && next.FirstSeq != 0:
		return errors.New("stream configuration update can not change first sequence")
	case old.AllowMsgTTL && !next.AllowMsgTTL:
		return errors.New("message TTL status can not be disabled")
	case old.DenyDelete && !next.DenyDelete:
		return errors.New("stream configuration update can not cancel deny message deletes")
	case old.DenyPurge && !next.DenyPurge:
		return errors.New("stream configuration update can not cancel deny purge")
	}
	return nil
}
