package importer

import (
	"encoding/binary"
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
}

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
	var rec [recSize]byte
	if _, err := t.recs.ReadAt(rec[:], int64(n)*recSize); err != nil {
		return rowState{} // past the end: never written, pending
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
	if _, err := t.recs.WriteAt(rec[:], int64(n)*recSize); err != nil {
		t.fail(err)
	}
}

func (t *rowTable) fail(err error) {
	if t.err == nil {
		t.err = &LocalError{Op: "keeping the table of rows", Path: t.recs.Name(), Err: err}
	}
}
