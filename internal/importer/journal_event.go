package importer

import (
	"encoding/json"
	"strconv"
)

// appendEvent appends ev's journal line, without its newline, to dst: the
// bytes json.Marshal gives, written without reflection when every text of
// ev is plain, as a run's ids and event names are. Two events a row make
// this the journal's cost per row.
func appendEvent(dst []byte, ev event) ([]byte, error) {
	if !plain(ev.Ev) || !plain(ev.ID) || !plain(ev.Error) || !plain(ev.Reason) {
		line, err := json.Marshal(ev)
		return append(dst, line...), err
	}
	dst = append(dst, `{"row":`...)
	dst = strconv.AppendInt(dst, int64(ev.Row), 10)
	dst = appendText(dst, `,"ev":"`, ev.Ev)
	if ev.ID != "" {
		dst = appendText(dst, `,"id":"`, ev.ID)
	}
	if ev.New {
		dst = append(dst, `,"new":true`...)
	}
	if ev.Error != "" {
		dst = appendText(dst, `,"error":"`, ev.Error)
	}
	if ev.Status != 0 {
		dst = append(dst, `,"status":`...)
		dst = strconv.AppendInt(dst, int64(ev.Status), 10)
	}
	if ev.Reason != "" {
		dst = appendText(dst, `,"reason":"`, ev.Reason)
	}
	return append(dst, '}'), nil
}

// appendText appends key, which opens the string, then s and its closing
// quote.
func appendText(dst []byte, key, s string) []byte {
	dst = append(dst, key...)
	dst = append(dst, s...)
	return append(dst, '"')
}

// plain reports whether JSON writes s as it is: printable ASCII, without
// the quote and backslash it escapes, or the <, > and & that json.Marshal
// escapes for HTML.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
