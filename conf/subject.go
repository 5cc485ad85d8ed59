package conf

import (
	"errors"
	"fmt"
	"strings"
)

// checkSubject reports why s is not a valid subject filter: tokens separated
// by '.', none empty, no whitespace, '*' and '>' only as whole tokens, and
// '>' only as the last token.
func checkSubject(s string) error {
	if s == "" {
		return errors.New("subject is empty")
	}
	if i := strings.IndexAny(s, " \t\r\n\f\v"); i >= 0 {
		return fmt.Errorf("subject %q contains whitespace", s)
	}
	tokens := strings.Split(s, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return fmt.Errorf("subject %q has an empty token", s)
		case t == ">" && i != len(tokens)-1:
			return fmt.Errorf("subject %q has '>' before its last token", s)
		case t != "*" && t != ">" && strings.ContainsAny(t, "*>"):
			return fmt.Errorf("subject %q uses a wildcard inside a token; '*' and '>' must stand alone", s)
		}
	}
	return nil
}
