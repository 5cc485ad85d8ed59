package mqtt

// Topics and subjects. MQTT topics map onto NATS subjects as nats-server
// maps them, so a fleet mixing both servers routes the same way:
//
//	MQTT            NATS
//	/  (separator)  .
//	+               *
//	#               >
//	.  (in a level) //
//	empty level     /       ("/a" is "/.a", "a/" is "a./", "a//b" is "a./.b")
//
// Whitespace and DEL are refused in both. A level that is exactly "*" or ">"
// would become a NATS wildcard, so it is refused too.

// ErrTopicName is a topic name that cannot carry a message; ErrTopicFilter
// a topic filter that cannot be subscribed to.
var (
	ErrTopicName   error = &Error{Code: TopicNameInvalid, Msg: "invalid topic name"}
	ErrTopicFilter error = &Error{Code: TopicFilterInvalid, Msg: "invalid topic filter"}
)

// TopicToSubject appends the NATS subject of the topic name t to dst.
func TopicToSubject(dst, t []byte) ([]byte, error) {
	return toSubject(dst, t, false)
}

// FilterToSubject appends the NATS filter of the MQTT topic filter f to
// dst. A filter "a/#" matches "a" too; NeedsParent tells when the caller
// must subscribe to that parent subject as well.
func FilterToSubject(dst, f []byte) ([]byte, error) {
	return toSubject(dst, f, true)
}

func toSubject(dst, t []byte, filter bool) ([]byte, error) {
	bad := ErrTopicName
	if filter {
		bad = ErrTopicFilter
	}
	if len(t) == 0 {
		return dst, bad
	}
	start := 0
	for i := 0; i <= len(t); i++ {
		if i < len(t) && t[i] != '/' {
			switch t[i] {
			case ' ', '\t', '\n', '\r', '\f', 0x7f:
				return dst, bad
			}
			continue
		}
		lvl := t[start:i]
		if start > 0 {
			dst = append(dst, '.')
		}
		switch {
		case len(lvl) == 0:
			dst = append(dst, '/')
		case len(lvl) == 1 && (lvl[0] == '*' || lvl[0] == '>'):
			return dst, bad
		case len(lvl) == 1 && lvl[0] == '+':
			if !filter {
				return dst, bad
			}
			dst = append(dst, '*')
		case len(lvl) == 1 && lvl[0] == '#':
			if !filter || i != len(t) {
				return dst, bad // [MQTT-4.7.1-1]: '#' only as the last level
			}
			dst = append(dst, '>')
		default:
			for _, c := range lvl {
				switch c {
				case '+', '#':
					return dst, bad // wildcards only as a whole level
				case '.':
					dst = append(dst, '/', '/')
				default:
					dst = append(dst, c)
				}
			}
		}
		start = i + 1
	}
	return dst, nil
}

// NeedsParent reports whether the NATS filter s ends in ".>" after at least
// one level, so that the MQTT filter it came from ("a/#") also matches the
// parent ("a"), which the caller subscribes to separately: s[:len(s)-2].
func NeedsParent(s []byte) bool {
	return len(s) >= 3 && s[len(s)-1] == '>' && s[len(s)-2] == '.'
}

// SubjectToTopic appends the MQTT topic of the NATS subject s to dst: the
// reverse of TopicToSubject. A lone "/" inside a token, which no MQTT topic
// maps to, is dropped, as nats-server drops it.
func SubjectToTopic(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '.':
			dst = append(dst, '/')
		case '/':
			if i+1 < len(s) {
				switch s[i+1] {
				case '/':
					dst = append(dst, '.')
					i++
				case '.':
					dst = append(dst, '/')
					i++
				}
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// ShareGroup splits a shared subscription filter "$share/<group>/<filter>"
// into its group and filter; ok is false for a filter that is not shared.
// A malformed share (no group, a group with a wildcard, no filter) is
// ErrTopicFilter.
func ShareGroup(f []byte) (group, filter []byte, ok bool, err error) {
	const prefix = "$share/"
	if len(f) < len(prefix) || string(f[:len(prefix)]) != prefix {
		return nil, f, false, nil
	}
	rest := f[len(prefix):]
	for i, c := range rest {
		switch c {
		case '+', '#', ' ', '\t', '\n', '\r', '\f', '.', '*', '>':
			return nil, nil, true, ErrTopicFilter // [MQTT-4.8.2-2]
		case '/':
			if i == 0 || i == len(rest)-1 {
				return nil, nil, true, ErrTopicFilter
			}
			return rest[:i], rest[i+1:], true, nil
		}
	}
	return nil, nil, true, ErrTopicFilter
}
