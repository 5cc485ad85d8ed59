package conf

import (
	"fmt"

	"github.com/pelletier/go-toml/v2/unstable"
)

// A node is one value of the parsed document, with where it was written.
// Tables, arrays (arrays of tables included) and scalars are all nodes.
type node struct {
	kind  nodeKind
	key   pos // where the key naming this node is; the value's place for array elements
	at    pos // where the value starts: the scalar, '[', '{' or the table's [header]
	typ   unstable.Kind
	text  string           // scalar: decoded string, or the literal of other scalars
	names []string         // table: keys in document order
	kids  map[string]*node // table: values by key
	elems []*node          // array: elements in order
}

type nodeKind uint8

const (
	tableNode nodeKind = iota
	arrayNode
	scalarNode
)

func newTable(key, at pos) *node {
	return &node{kind: tableNode, key: key, at: at, kids: map[string]*node{}}
}

// add stores child under name, keeping document order.
func (n *node) add(name string, child *node) {
	n.names = append(n.names, name)
	n.kids[name] = child
}

// table returns the table named name under n, creating it if needed. When
// name holds an array of tables it returns the last one, as TOML says.
func (n *node) table(name string, key pos) (*node, error) {
	c, ok := n.kids[name]
	if !ok {
		c = newTable(key, key)
		n.add(name, c)
		return c, nil
	}
	switch {
	case c.kind == tableNode:
		return c, nil
	case c.kind == arrayNode && len(c.elems) > 0 && c.elems[len(c.elems)-1].kind == tableNode:
		return c.elems[len(c.elems)-1], nil
	}
	return nil, fmt.Errorf("key %s is already defined", name)
}

// treeBuilder turns the expressions of a TOML document into a tree of nodes.
// The document must already be known to be valid TOML (Parse checks it with
// go-toml first), so conflicts are reported but not explained in detail.
type treeBuilder struct {
	p     unstable.Parser
	lines *lines
	root  *node
	cur   *node // the table the next key-values belong to
}

// buildTree parses data into a tree of nodes.
func buildTree(data []byte) (*node, error) {
	b := &treeBuilder{lines: newLines(data)}
	b.root = newTable(pos{1, 1}, pos{1, 1})
	b.cur = b.root
	b.p.Reset(data)
	for b.p.NextExpression() {
		if err := b.expression(b.p.Expression()); err != nil {
			return nil, err
		}
	}
	if err := b.p.Error(); err != nil {
		return nil, err
	}
	return b.root, nil
}

func (b *treeBuilder) posOf(r unstable.Range) pos {
	return b.lines.at(int(r.Offset))
}

// keyParts returns the parts of a (possibly dotted) key and where each is.
func (b *treeBuilder) keyParts(e *unstable.Node) ([]string, []pos) {
	var names []string
	var places []pos
	it := e.Key()
	for it.Next() {
		k := it.Node()
		names = append(names, string(k.Data))
		places = append(places, b.posOf(k.Raw))
	}
	return names, places
}

func (b *treeBuilder) expression(e *unstable.Node) error {
	switch e.Kind {
	case unstable.KeyValue:
		return b.keyValue(b.cur, e)
	case unstable.Table, unstable.ArrayTable:
		names, places := b.keyParts(e)
		t := b.root
		for i, name := range names[:len(names)-1] {
			var err error
			if t, err = t.table(name, places[i]); err != nil {
				return err
			}
		}
		last, at := names[len(names)-1], places[len(places)-1]
		if e.Kind == unstable.Table {
			c, err := t.table(last, at)
			if err != nil {
				return err
			}
			c.key, c.at = at, at
			b.cur = c
			return nil
		}
		arr, ok := t.kids[last]
		if !ok {
			arr = &node{kind: arrayNode, key: at, at: at}
			t.add(last, arr)
		} else if arr.kind != arrayNode {
			return fmt.Errorf("key %s is already defined", last)
		}
		b.cur = newTable(at, at)
		arr.elems = append(arr.elems, b.cur)
		return nil
	}
	return nil
}

// keyValue stores the value of key-value expression e in table t.
func (b *treeBuilder) keyValue(t *node, e *unstable.Node) error {
	names, places := b.keyParts(e)
	for i, name := range names[:len(names)-1] {
		var err error
		if t, err = t.table(name, places[i]); err != nil {
			return err
		}
	}
	last := names[len(names)-1]
	if _, dup := t.kids[last]; dup {
		return fmt.Errorf("key %s is already defined", last)
	}
	v, err := b.value(e.Value(), b.afterEquals(e))
	if err != nil {
		return err
	}
	v.key = places[len(places)-1]
	t.add(last, v)
	return nil
}

// afterEquals returns where the value of key-value e starts. The parser
// gives arrays no range, so it is found from the end of the key.
func (b *treeBuilder) afterEquals(e *unstable.Node) pos {
	var end int
	it := e.Key()
	for it.Next() {
		r := it.Node().Raw
		end = int(r.Offset + r.Length)
	}
	data := b.p.Data()
	for end < len(data) && (data[end] == ' ' || data[end] == '\t' || data[end] == '=') {
		end++
	}
	return b.lines.at(end)
}

// value converts a value of the AST into a node starting at at.
func (b *treeBuilder) value(v *unstable.Node, at pos) (*node, error) {
	switch v.Kind {
	case unstable.Array:
		n := &node{kind: arrayNode, key: at, at: at, typ: v.Kind}
		it := v.Children()
		for it.Next() {
			c := it.Node()
			cat := at
			if c.Kind != unstable.Array {
				cat = b.posOf(c.Raw)
			}
			e, err := b.value(c, cat)
			if err != nil {
				return nil, err
			}
			e.key = e.at
			n.elems = append(n.elems, e)
		}
		return n, nil
	case unstable.InlineTable:
		n := newTable(at, b.posOf(v.Raw))
		n.typ = v.Kind
		it := v.Children()
		for it.Next() {
			if err := b.keyValue(n, it.Node()); err != nil {
				return nil, err
			}
		}
		return n, nil
	default:
		return &node{kind: scalarNode, key: at, at: b.posOf(v.Raw), typ: v.Kind, text: string(v.Data)}, nil
	}
}
