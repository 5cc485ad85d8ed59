package jetstore

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/wrenmq/wren/jetstore/store"
)

// recFS is a file system that does every operation on the real disk and
// logs it, so that the disk a power cut leaves after any prefix of the
// log can be built (materialise). The model:
//
//   - a file's data is durable up to its last fsync; data written since
//     may be lost, torn (half of it kept) or read back as zeros;
//   - a directory entry made, renamed or removed is durable once its
//     parent directory (both parents, for a rename) is fsynced after it;
//     until then each such change may or may not have reached the disk,
//     independently of the others (a rename is one change: old name or
//     new, never both).
//
// tidwall/wal writes its segment files itself, not through store.Disk:
// before each logged operation the recorder compares the tree with what
// it last saw and logs what changed meanwhile as the same kinds of
// operation (creates, writes, removes; a rename it did shows as a remove
// and a create, which the model lets land separately, a harsher model
// than the disk's). Its fsyncs reach the log through store.FS.SyncWith,
// which the store wraps around every fsync and close of a log, except the
// one it does of its newest segment before it starts a new one: a segment
// file it creates is logged after an fsync of the others.
type recFS struct {
	mu     sync.Mutex
	root   string
	real   store.FS
	init   map[string][]byte // relative path -> content, nil for a dir
	seen   map[string][]byte
	events []fsEvent
	marks  map[string]int
}

type evKind int

const (
	evMkdir evKind = iota
	evCreate
	evWrite
	evSync
	evRename
	evRemove
	evSyncDir
	evSyncWith
)

var evNames = [...]string{"mkdir", "create", "write", "fsync", "rename", "remove", "fsync dir", "fsync log"}

type fsEvent struct {
	kind     evKind
	path, to string // relative to the root
	data     []byte // a write: the file's whole content after it
	ext      bool   // seen in the tree, not made through the FS
}

func (e fsEvent) String() string {
	s := evNames[e.kind] + " " + e.path
	if e.kind == evRename {
		s += " -> " + e.to
	}
	if e.kind == evWrite {
		s += fmt.Sprintf(" (%d bytes)", len(e.data))
	}
	if e.ext {
		s += " [wal]"
	}
	return s
}

// record puts a recorder on root in store.Disk until the test ends; what
// root holds now counts as durable.
func record(t *testing.T, root string) *recFS {
	r := startRecording(root)
	t.Cleanup(func() { store.Disk = r.real })
	return r
}

// startRecording puts a recorder on root in store.Disk until stop; what
// root holds now counts as durable.
func startRecording(root string) *recFS {
	r := &recFS{root: root, real: store.Disk, marks: map[string]int{}}
	r.init = r.readTree()
	r.seen = r.readTree()
	store.Disk = r
	return r
}

// stop puts the real file system back and logs the last changes.
func (r *recFS) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scan()
	store.Disk = r.real
}

// mark notes that what label names was acknowledged now: every state
// cut after this point must keep it.
func (r *recFS) mark(label string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scan()
	r.marks[label] = len(r.events)
}

func (r *recFS) readTree() map[string][]byte {
	tree := map[string][]byte{}
	filepath.WalkDir(r.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == r.root {
			return nil
		}
		rel, _ := filepath.Rel(r.root, p)
		if d.IsDir() {
			tree[rel] = nil
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		if b == nil {
			b = []byte{}
		}
		tree[rel] = b
		return nil
	})
	return tree
}

// scan logs what changed in the tree since it was last seen. r.mu is
// held.
func (r *recFS) scan() {
	now := r.readTree()
	var gone []string
	for p := range r.seen {
		if _, ok := now[p]; !ok {
			gone = append(gone, p)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(gone)))
	for _, p := range gone {
		r.events = append(r.events, fsEvent{kind: evRemove, path: p, ext: true})
	}
	var paths []string
	for p := range now {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		b, was := now[p], r.seen[p]
		_, existed := r.seen[p]
		switch {
		case !existed && b == nil:
			r.events = append(r.events, fsEvent{kind: evMkdir, path: p, ext: true})
		case !existed:
			// tidwall/wal fsyncs its newest segment before it starts
			// another (its cycle).
			r.events = append(r.events, fsEvent{kind: evSyncWith, path: parentOf(p), ext: true})
			r.events = append(r.events, fsEvent{kind: evCreate, path: p, ext: true})
			if len(b) > 0 {
				r.events = append(r.events, fsEvent{kind: evWrite, path: p, data: b, ext: true})
			}
		case b != nil && !bytes.Equal(b, was):
			r.events = append(r.events, fsEvent{kind: evWrite, path: p, data: b, ext: true})
		}
	}
	r.seen = now
}

// rel returns p relative to the root, or false outside it.
func (r *recFS) rel(p string) (string, bool) {
	rel, err := filepath.Rel(r.root, p)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return "", false
	}
	return rel, true
}

// log runs op on the real disk after logging what changed before it,
// then logs ev if op succeeded and updates what it has seen of the paths
// op changed (only those: a change tidwall/wal makes meanwhile is left
// for the next scan to log).
func (r *recFS) log(ev fsEvent, op func() error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scan()
	if err := op(); err != nil {
		return err
	}
	r.applySeen(ev)
	if ev.kind == evWrite {
		ev.data = append([]byte{}, r.seen[ev.path]...)
	}
	r.events = append(r.events, ev)
	return nil
}

// applySeen updates the seen tree for ev, done on the real disk.
func (r *recFS) applySeen(ev fsEvent) {
	under := func(p, root string) bool {
		return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
	}
	switch ev.kind {
	case evMkdir:
		r.seen[ev.path] = nil
	case evCreate, evWrite:
		b, err := os.ReadFile(filepath.Join(r.root, ev.path))
		if err == nil {
			if b == nil {
				b = []byte{}
			}
			r.seen[ev.path] = b
		}
	case evRemove:
		for p := range r.seen {
			if under(p, ev.path) {
				delete(r.seen, p)
			}
		}
	case evRename:
		for p := range r.seen {
			if under(p, ev.to) {
				delete(r.seen, p)
			}
		}
		moved := map[string][]byte{}
		for p, b := range r.seen {
			if under(p, ev.path) {
				delete(r.seen, p)
				moved[ev.to+p[len(ev.path):]] = b
			}
		}
		for p, b := range moved {
			r.seen[p] = b
		}
	}
}

func (r *recFS) OpenFile(name string, flag int, perm fs.FileMode) (store.File, error) {
	rel, ok := r.rel(name)
	if !ok {
		return r.real.OpenFile(name, flag, perm)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scan()
	_, existed := r.seen[rel]
	f, err := r.real.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if !existed {
		r.events = append(r.events, fsEvent{kind: evCreate, path: rel})
	} else if flag&os.O_TRUNC != 0 && len(r.seen[rel]) > 0 {
		r.events = append(r.events, fsEvent{kind: evWrite, path: rel, data: []byte{}})
	}
	r.applySeen(fsEvent{kind: evCreate, path: rel})
	return &recFile{File: f, r: r, path: name, rel: rel}, nil
}

func (r *recFS) Mkdir(name string, perm fs.FileMode) error {
	rel, ok := r.rel(name)
	if !ok {
		return r.real.Mkdir(name, perm)
	}
	return r.log(fsEvent{kind: evMkdir, path: rel}, func() error { return r.real.Mkdir(name, perm) })
}

func (r *recFS) Rename(from, to string) error {
	rf, ok1 := r.rel(from)
	rt, ok2 := r.rel(to)
	if !ok1 || !ok2 {
		return r.real.Rename(from, to)
	}
	return r.log(fsEvent{kind: evRename, path: rf, to: rt}, func() error { return r.real.Rename(from, to) })
}

func (r *recFS) Remove(name string) error {
	rel, ok := r.rel(name)
	if !ok {
		return r.real.Remove(name)
	}
	return r.log(fsEvent{kind: evRemove, path: rel}, func() error { return r.real.Remove(name) })
}

func (r *recFS) ReadDir(name string) ([]fs.DirEntry, error) { return r.real.ReadDir(name) }

func (r *recFS) SyncDir(name string) error {
	rel, ok := r.rel(name)
	if name == r.root {
		rel, ok = ".", true
	}
	if !ok {
		return r.real.SyncDir(name)
	}
	return r.log(fsEvent{kind: evSyncDir, path: rel}, func() error { return r.real.SyncDir(name) })
}

func (r *recFS) SyncWith(dir string, sync func() error) error {
	rel, ok := r.rel(dir)
	if !ok {
		return r.real.SyncWith(dir, sync)
	}
	return r.log(fsEvent{kind: evSyncWith, path: rel}, func() error { return r.real.SyncWith(dir, sync) })
}

type recFile struct {
	store.File
	r         *recFS
	path, rel string
}

func (f *recFile) Write(b []byte) (int, error) {
	var n int
	err := f.r.log(fsEvent{kind: evWrite, path: f.rel}, func() error {
		var err error
		n, err = f.File.Write(b)
		return err
	})
	return n, err
}

func (f *recFile) Truncate(size int64) error {
	return f.r.log(fsEvent{kind: evWrite, path: f.rel}, func() error { return f.File.Truncate(size) })
}

func (f *recFile) Sync() error {
	return f.r.log(fsEvent{kind: evSync, path: f.rel}, f.File.Sync)
}

// The materialiser.

type mnode struct {
	dir          bool
	data, synced []byte
}

// cutPlan is what a cut after the first k events leaves open to chance:
// the directory changes not yet durable and the files with unsynced data.
type cutPlan struct {
	k       int
	pending []int // indexes of events
	dirty   []int // node ids
	nodes   []*mnode
	initIDs map[string]int
	ids     []int // events[i] creating a node: its id
	sampled bool  // choices picked some of more than their limit
}

func parentOf(p string) string {
	d := filepath.Dir(p)
	return d
}

// plan replays the first k events on the disk as the process saw it.
func (r *recFS) plan(k int) *cutPlan {
	pl := &cutPlan{k: k, initIDs: map[string]int{}, ids: make([]int, k)}
	tree := map[string]int{} // path -> node
	var initPaths []string
	for p := range r.init {
		initPaths = append(initPaths, p)
	}
	sort.Strings(initPaths)
	for _, p := range initPaths {
		b := r.init[p]
		n := &mnode{dir: b == nil, data: b, synced: b}
		pl.nodes = append(pl.nodes, n)
		tree[p] = len(pl.nodes) - 1
		pl.initIDs[p] = len(pl.nodes) - 1
	}
	need := map[int]map[string]bool{} // event -> parents still to fsync
	move := func(from, to string) {
		for p, id := range tree {
			if p == from || strings.HasPrefix(p, from+string(filepath.Separator)) {
				delete(tree, p)
				tree[to+p[len(from):]] = id
			}
		}
	}
	drop := func(path string) {
		for p := range tree {
			if p == path || strings.HasPrefix(p, path+string(filepath.Separator)) {
				delete(tree, p)
			}
		}
	}
	for i, ev := range r.events[:k] {
		switch ev.kind {
		case evMkdir, evCreate:
			pl.nodes = append(pl.nodes, &mnode{dir: ev.kind == evMkdir})
			pl.ids[i] = len(pl.nodes) - 1
			tree[ev.path] = pl.ids[i]
			need[i] = map[string]bool{parentOf(ev.path): true}
		case evRename:
			drop(ev.to)
			move(ev.path, ev.to)
			need[i] = map[string]bool{parentOf(ev.path): true, parentOf(ev.to): true}
		case evRemove:
			drop(ev.path)
			need[i] = map[string]bool{parentOf(ev.path): true}
		case evWrite:
			if id, ok := tree[ev.path]; ok {
				pl.nodes[id].data = ev.data
			}
		case evSync:
			if id, ok := tree[ev.path]; ok {
				pl.nodes[id].synced = pl.nodes[id].data
			}
		case evSyncWith:
			for p, id := range tree {
				if parentOf(p) == ev.path && !pl.nodes[id].dir {
					pl.nodes[id].synced = pl.nodes[id].data
				}
			}
		case evSyncDir:
			for _, ps := range need {
				delete(ps, ev.path)
			}
		}
	}
	for i := range k {
		if ps, ok := need[i]; ok && len(ps) > 0 {
			pl.pending = append(pl.pending, i)
		}
	}
	for id, n := range pl.nodes {
		if !n.dir && !bytes.Equal(n.data, n.synced) {
			pl.dirty = append(pl.dirty, id)
		}
	}
	return pl
}

// variants returns what a cut may leave of a file with unsynced data:
// what was synced, all of it, half of what came after the synced prefix,
// or that part read back as zeros.
func variants(n *mnode) [][]byte {
	common := 0
	for common < len(n.data) && common < len(n.synced) && n.data[common] == n.synced[common] {
		common++
	}
	out := [][]byte{n.synced, n.data}
	if len(n.data) > common {
		out = append(out, n.data[:common+(len(n.data)-common)/2])
		z := append([]byte{}, n.data...)
		clear(z[common:])
		out = append(out, z)
	}
	var uniq [][]byte
	for _, v := range out {
		if !slices.ContainsFunc(uniq, func(u []byte) bool { return bytes.Equal(u, v) }) {
			uniq = append(uniq, v)
		}
	}
	return uniq
}

// cutChoice picks, for a plan, which pending changes landed and which
// variant of each dirty file the disk holds.
type cutChoice struct {
	landed  []bool // per pending
	variant []int  // per dirty
}

// choices enumerates every choice when there are at most limit, else
// limit of them picked with a fixed seed (always including none landed
// and all landed, with whole data).
func (pl *cutPlan) choices(limit int) []cutChoice {
	pl.sampled = false
	vs := make([]int, len(pl.dirty))
	total := 1 << min(len(pl.pending), 30)
	for i, id := range pl.dirty {
		vs[i] = len(variants(pl.nodes[id]))
		total *= vs[i]
		if total > limit {
			total = limit + 1
		}
	}
	mk := func(idx int) cutChoice {
		c := cutChoice{landed: make([]bool, len(pl.pending)), variant: make([]int, len(pl.dirty))}
		for i := range c.landed {
			c.landed[i] = idx%2 == 1
			idx /= 2
		}
		for i := range c.variant {
			c.variant[i] = idx % vs[i]
			idx /= vs[i]
		}
		return c
	}
	var out []cutChoice
	if total <= limit {
		for i := range total {
			out = append(out, mk(i))
		}
		return out
	}
	pl.sampled = true
	rng := rand.New(rand.NewPCG(uint64(pl.k), 16))
	all := cutChoice{landed: make([]bool, len(pl.pending)), variant: make([]int, len(pl.dirty))}
	for i := range all.landed {
		all.landed[i] = true
	}
	for i := range all.variant {
		all.variant[i] = 1
	}
	out = append(out, mk(0), all)
	for len(out) < limit {
		c := cutChoice{landed: make([]bool, len(pl.pending)), variant: make([]int, len(pl.dirty))}
		for i := range c.landed {
			c.landed[i] = rng.IntN(2) == 1
		}
		for i := range c.variant {
			c.variant[i] = rng.IntN(vs[i])
		}
		out = append(out, c)
	}
	return out
}

// cutDisk is a disk state: paths in order, nil content for a directory.
type cutDisk struct {
	paths []string
	data  [][]byte
}

// write puts the state into dst, emptied first.
func (d *cutDisk) write(dst string) {
	os.RemoveAll(dst)
	os.MkdirAll(dst, 0o750)
	for i, p := range d.paths {
		full := filepath.Join(dst, p)
		if d.data[i] == nil {
			os.MkdirAll(full, 0o750)
			continue
		}
		os.MkdirAll(filepath.Dir(full), 0o750)
		os.WriteFile(full, d.data[i], 0o640)
	}
}

// materialise returns the disk a cut after pl.k events leaves under
// choice c, a digest of it and a description of what was left undone.
func (r *recFS) materialise(pl *cutPlan, c cutChoice) (*cutDisk, string, string) {
	landed := map[int]bool{}
	var lost []string
	for i, ev := range pl.pending {
		landed[ev] = c.landed[i]
		if !c.landed[i] {
			lost = append(lost, r.events[ev].String())
		}
	}
	content := map[int][]byte{}
	for i, id := range pl.dirty {
		content[id] = variants(pl.nodes[id])[c.variant[i]]
		if c.variant[i] != 1 {
			lost = append(lost, fmt.Sprintf("node %d data variant %d", id, c.variant[i]))
		}
	}
	tree := map[string]int{}
	for p, id := range pl.initIDs {
		tree[p] = id
	}
	has := func(p string) bool {
		for ; p != "."; p = parentOf(p) {
			if id, ok := tree[p]; !ok || !pl.nodes[id].dir {
				return false
			}
		}
		return true
	}
	for i, ev := range r.events[:pl.k] {
		if l, pending := landed[i]; pending && !l {
			continue
		}
		switch ev.kind {
		case evMkdir, evCreate:
			if _, ok := tree[ev.path]; !ok && has(parentOf(ev.path)) {
				tree[ev.path] = pl.ids[i]
			}
		case evRename:
			if _, ok := tree[ev.path]; !ok || !has(parentOf(ev.to)) {
				continue
			}
			for p := range tree {
				if p == ev.to || strings.HasPrefix(p, ev.to+string(filepath.Separator)) {
					delete(tree, p)
				}
			}
			for p, id := range tree {
				if p == ev.path || strings.HasPrefix(p, ev.path+string(filepath.Separator)) {
					delete(tree, p)
					tree[ev.to+p[len(ev.path):]] = id
				}
			}
		case evRemove:
			for p := range tree {
				if p == ev.path || strings.HasPrefix(p, ev.path+string(filepath.Separator)) {
					delete(tree, p)
				}
			}
		}
	}
	var paths []string
	for p := range tree {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	disk := &cutDisk{}
	for _, p := range paths {
		n := pl.nodes[tree[p]]
		// A node whose parent did not land is an orphan.
		if d := parentOf(p); d != "." && !has(d) {
			continue
		}
		if n.dir {
			disk.paths, disk.data = append(disk.paths, p), append(disk.data, nil)
			fmt.Fprintf(h, "d %s\n", p)
			continue
		}
		b, ok := content[tree[p]]
		if !ok {
			b = n.data
		}
		if b == nil {
			b = []byte{}
		}
		disk.paths, disk.data = append(disk.paths, p), append(disk.data, b)
		fmt.Fprintf(h, "f %s %x\n", p, sha256.Sum256(b))
	}
	return disk, fmt.Sprintf("%x", h.Sum(nil)), strings.Join(lost, "; ")
}

// done returns the labels marked at or before event k.
func (r *recFS) done(k int) map[string]bool {
	out := map[string]bool{}
	for l, at := range r.marks {
		if at <= k {
			out[l] = true
		}
	}
	return out
}
