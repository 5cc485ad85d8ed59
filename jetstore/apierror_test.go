package jetstore

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestAPIErrorTable keeps the JetStream error codes in one table: no file
// of the package but apierror.go builds an APIError from a code and a
// text, so each code is chosen once.
func TestAPIErrorTable(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if name == "apierror.go" || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "apiErr" {
					t.Errorf("%s: an API error built in place; add it to apierror.go", fset.Position(x.Pos()))
				}
			case *ast.CompositeLit:
				if id, ok := x.Type.(*ast.Ident); ok && id.Name == "APIError" {
					t.Errorf("%s: an API error built in place; add it to apierror.go", fset.Position(x.Pos()))
				}
			}
			return true
		})
	}
}
