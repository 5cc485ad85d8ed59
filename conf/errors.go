package conf

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem with a configuration, printed on one line as
//
//	file:line:column: key: message
//
// Line and Column are 1-based; they are 0 when the problem has no place in a
// file (Validate after flags changed the Config). Key is the dotted path of
// the offending key, such as "limits.max_payload" or
// "authorization.users[1].nkey", and is empty for syntax errors.
type Error struct {
	File   string
	Line   int
	Column int
	Key    string
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Column))
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in a configuration, in file order. Its
// Error method prints one Error per line.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the errors of the list, for errors.As.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// err returns l as an error, or nil when it is empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// maxErrors is how many errors Parse reports before giving up.
const maxErrors = 20

// truncate keeps the first maxErrors errors of l and, if there were more,
// one more line, at the first one left out, saying how many were left out.
func (l ErrorList) truncate() ErrorList {
	if len(l) <= maxErrors {
		return l
	}
	next := l[maxErrors]
	more := &Error{File: next.File, Line: next.Line, Column: next.Column,
		Msg: "too many errors; " + strconv.Itoa(len(l)-maxErrors) + " more not shown"}
	return append(l[:maxErrors:maxErrors], more)
}

// sortByPosition orders l by line and column, keeping the order of errors at
// the same place.
func (l ErrorList) sortByPosition() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}
