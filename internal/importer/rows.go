package importer

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
)

// rowTable holds what the journal says of each row, mostly out of memory:
// one fixed-width record per row in a file beside the journal, and the
// longer texts (an error, a reason, an id over idMax bytes) in a second
// one. Both files are unlinked at once: they vanish with the process
// however it ends. In memory it keeps only each row's state, one byte a
// row (a megabyte for a million rows), which the send pass and the
// summary ask of every row without a read each. It is not safe for
// concurrent use.
type rowTable struct {
	rows       int
	states     []uint8 // by row number; 0 is statePending
	recs, text *os.File
	textEnd    int64
	err        error // the first I/O error; reads then say pending
	// blocks are the records of the table most lately used, cachedBlocks
	// of blockRecs each: rows settle about in the order they were read,
	// a few hundred apart, so the blocks in use are few, and each is read
	// and written once a visit, not once a row.
	blocks []*block
	tick   uint64
}

// A block of records in memory.
type block struct {
	n     int64 // its number: its records are rows n*blockRecs on
	used  uint64
	dirty bool
	data  [blockRecs * recSize]byte
}

const (
	blockRecs    = 64 // 4 KiB
	cachedBlocks = 16
)

// A record: state, new, status (2 bytes), the id's length (textInSide when
// the text file holds it), the id, and the text's offset and length.
const (
	recSize    = 64
	idMax      = 40
	textInSide = 255
)

// newRowTable returns a table of rows rows, all pending, in dir.
func newRowTable(dir string, rows int) (*rowTable, error) {
	t := &rowTable{rows: rows, states: make([]uint8, rows+1)}
	for _, f := range []**os.File{&t.recs, &t.text} {
		tmp, err := os.CreateTemp(dir, ".leadway-import-rows-*")
		if err != nil {
			t.close()
			return nil, &LocalError{Op: "creating the table of rows in", Path: dir, Err: err}
		}
		_ = os.Remove(tmp.Name()) // unlinked: it lives as long as the file is open
		*f = tmp
	}
	return t, nil
}

func (t *rowTable) close() {
	for _, f := range []*os.File{t.recs, t.text} {
		if f != nil {
			f.Close()
		}
	}
}

// state returns row n's state alone, from memory.
func (t *rowTable) state(n int) uint8 {
	if n < 0 || n >= len(t.states) {
		return statePending
	}
	return t.states[n]
}

// get returns row n's state and what goes with it.
func (t *rowTable) get(n int) rowState {
	rec := t.record(n, false)
	if rec == nil {
		return rowState{}
	}
	s := rowState{state: rec[0], new: rec[1] == 1, status: int(binary.LittleEndian.Uint16(rec[2:4]))}
	text := ""
	if l := binary.LittleEndian.Uint32(rec[56:60]); l > 0 {
		buf := make([]byte, l)
		if _, err := t.text.ReadAt(buf, int64(binary.LittleEndian.Uint64(rec[48:56]))); err != nil {
			t.fail(err)
		}
		text = string(buf)
	}
	switch idLen := rec[4]; {
	case idLen == textInSide:
		s.id = text
	case idLen > 0:
		s.id = string(rec[8 : 8+idLen])
		s.msg = text
	default:
		s.msg = text
	}
	return s
}

// set records row n's state.
func (t *rowTable) set(n int, s rowState) {
	if n >= 0 && n < len(t.states) {
		t.states[n] = s.state
	}
	var rec [recSize]byte
	rec[0] = s.state
	if s.new {
		rec[1] = 1
	}
	binary.LittleEndian.PutUint16(rec[2:4], uint16(min(max(s.status, 0), 65535)))
	text := s.msg
	switch {
	case len(s.id) > idMax:
		rec[4], text = textInSide, s.id
	default:
		rec[4] = byte(len(s.id))
		copy(rec[8:], s.id)
	}
	if text != "" {
		if _, err := t.text.WriteAt([]byte(text), t.textEnd); err != nil {
			t.fail(err)
		}
		binary.LittleEndian.PutUint64(rec[48:56], uint64(t.textEnd))
		binary.LittleEndian.PutUint32(rec[56:60], uint32(len(text)))
		t.textEnd += int64(len(text))
	}
	if dst := t.record(n, true); dst != nil {
		copy(dst, rec[:])
	}
}

// record returns row n's record in its block, read in when it is not in
// memory, or nil when the table cannot hold it. The block is marked
// dirty when the caller will write it.
func (t *rowTable) record(n int, write bool) []byte {
	if n < 0 || t.err != nil {
		return nil
	}
	bn := int64(n) / blockRecs
	t.tick++
	b := t.block(bn)
	if b == nil {
		return nil
	}
	b.used = t.tick
	b.dirty = b.dirty || write
	off := int(int64(n)%blockRecs) * recSize
	return b.data[off : off+recSize]
}

// block returns block bn in memory, reading it in, in place of the one
// least lately used (written out first if it changed).
func (t *rowTable) block(bn int64) *block {
	for _, b := range t.blocks {
		if b.n == bn {
			return b
		}
	}
	var b *block
	if len(t.blocks) < cachedBlocks {
		b = &block{}
		t.blocks = append(t.blocks, b)
	} else {
		b = t.blocks[0]
		for _, c := range t.blocks[1:] {
			if c.used < b.used {
				b = c
			}
		}
		if b.dirty {
			if _, err := t.recs.WriteAt(b.data[:], b.n*int64(len(b.data))); err != nil {
				t.fail(err)
				return nil
			}
		}
	}
	b.n, b.dirty = bn, false
	// Past the file's end the table was never written: pending rows.
	got, err := t.recs.ReadAt(b.data[:], bn*int64(len(b.data)))
	if err != nil && !errors.Is(err, io.EOF) {
		b.n = -1
		t.fail(err)
		return nil
	}
	clear(b.data[got:])
	return b
}

func (t *rowTable) fail(err error) {
	if t.err == nil {
		t.err = &LocalError{Op: "keeping the table of rows", Path: t.recs.Name(), Err: err}
	}
}
