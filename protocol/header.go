package protocol

import (
	"bytes"
	"strconv"
)

// The NATS/1.0 header block: a version line with an optional three-digit
// status and description, then "Name: value" lines (case preserved, names
// may repeat), then a blank line.
const headerVersion = "NATS/1.0"

// Status codes the broker and the stream layer send in header-only
// messages.
const (
	StatusIdleHeartbeat = 100
	StatusBadRequest    = 400
	StatusNoMessages    = 404
	StatusTimeout       = 408
	StatusConflict      = 409
	StatusNoResponders  = 503
)

// AppendHeaderStart appends the version line. With status 0 no status is
// written; a description is written only with a status.
func AppendHeaderStart(dst []byte, status int, description string) []byte {
	dst = append(dst, headerVersion...)
	if status > 0 {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(status), 10)
		if description != "" {
			dst = append(dst, ' ')
			dst = append(dst, description...)
		}
	}
	return append(dst, "\r\n"...)
}

// AppendHeaderField appends one "Name: value" line.
func AppendHeaderField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// AppendHeaderEnd closes a header block.
func AppendHeaderEnd(dst []byte) []byte {
	return append(dst, "\r\n"...)
}

// NoRespondersHeader returns the header block of the 503 status sent to a
// requester when nobody is subscribed to the request's subject.
func NoRespondersHeader(dst []byte, subject []byte) []byte {
	dst = AppendHeaderStart(dst, StatusNoResponders, "")
	dst = append(dst, "Nats-Subject: "...)
	dst = append(dst, subject...)
	dst = append(dst, "\r\n"...)
	return AppendHeaderEnd(dst)
}

// HeaderStatus returns the status code and description of a header block,
// or 0 when it has none or is not a NATS/1.0 block.
func HeaderStatus(hdr []byte) (int, string) {
	if !bytes.HasPrefix(hdr, []byte(headerVersion)) {
		return 0, ""
	}
	line := hdr[len(headerVersion):]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, "\r")
	// The version stands alone or is followed by blanks, then a status of
	// exactly three digits stands alone or is followed by blanks.
	if len(line) == 0 || !isSpace(line[0]) {
		return 0, ""
	}
	line = trimSpace(line)
	if len(line) < 3 || (len(line) > 3 && !isSpace(line[3])) {
		return 0, ""
	}
	code := parseSize(line[:3])
	if code < 0 {
		return 0, ""
	}
	return code, string(trimSpace(line[3:]))
}

// HeaderFields calls fn for each "Name: value" line of a header block, in
// order, until fn returns false. Names and values are trimmed of spaces and
// tabs; an empty value is empty, not nil. Slices are valid only during the
// call.
func HeaderFields(hdr []byte, fn func(name, value []byte) bool) {
	i := bytes.IndexByte(hdr, '\n')
	if i < 0 {
		return
	}
	rest := hdr[i+1:]
	for len(rest) > 0 {
		j := bytes.IndexByte(rest, '\n')
		var line []byte
		if j < 0 {
			line, rest = rest, nil
		} else {
			line, rest = rest[:j], rest[j+1:]
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return
		}
		k := bytes.IndexByte(line, ':')
		if k <= 0 {
			continue
		}
		if !fn(trimSpace(line[:k]), trimSpace(line[k+1:])) {
			return
		}
	}
}

// HeaderGet returns the first value of the named field, matched without
// regard to ASCII case, or nil. It does not allocate.
func HeaderGet(hdr []byte, name string) []byte {
	var val []byte
	HeaderFields(hdr, func(n, v []byte) bool {
		if len(n) == len(name) && asciiEqualFold(n, name) {
			val = v
			return false
		}
		return true
	})
	return val
}

// HeaderGetEach sets vals[i] to the first value of the field names[i],
// matched without regard to ASCII case, or to nil when the block has no
// such field, reading the block once however many names it looks for. An
// empty value is empty, not nil. vals must be as long as names. It does
// not allocate.
func HeaderGetEach(hdr []byte, names []string, vals [][]byte) {
	clear(vals)
	HeaderFields(hdr, func(n, v []byte) bool {
		for i, name := range names {
			if vals[i] == nil && len(n) == len(name) && asciiEqualFold(n, name) {
				vals[i] = v
			}
		}
		return true
	})
}

// HeaderValues returns every value of the named field, in order.
func HeaderValues(hdr []byte, name string) []string {
	var vals []string
	HeaderFields(hdr, func(n, v []byte) bool {
		if len(n) == len(name) && asciiEqualFold(n, name) {
			vals = append(vals, string(v))
		}
		return true
	})
	return vals
}

func asciiEqualFold(b []byte, s string) bool {
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
