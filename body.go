package leadway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// drainLimit bounds how much of an oversized body is read and thrown away
// to keep its connection; past it the connection is closed instead.
const drainLimit = 64 << 10

// maxPrealloc bounds the buffer allocated from a Content-Length before any
// byte arrived: a server may announce more than it sends.
const maxPrealloc = 64 << 10

// bufferedBody is a response body the transport read in full, so that the
// connection is released and retries can inspect it.
type bufferedBody struct {
	bytes.Reader
	data      []byte
	truncated bool
}

func (*bufferedBody) Close() error { return nil }

// bodyOf returns what the transport read of resp's body, or nil.
func bodyOf(resp *http.Response) *bufferedBody {
	b, _ := resp.Body.(*bufferedBody)
	return b
}

// readBody reads at most limit bytes of body, which announced length bytes
// (-1 when unknown). A body past the limit is cut and marked; a short excess
// is drained so that the connection can be reused. On a read error it
// returns what arrived.
func readBody(body io.Reader, length, limit int64) (*bufferedBody, error) {
	size := int64(512)
	if length >= 0 {
		size = length
	}
	size = min(size, limit, maxPrealloc)
	data := make([]byte, 0, size)
	var err error
	truncated := false
	for {
		if len(data) == cap(data) || int64(len(data)) >= limit {
			// Full, or at the limit: look for one more byte before growing,
			// so that a body of exactly the announced length costs one
			// allocation and one past the limit is found.
			var probe [1]byte
			n, rerr := io.ReadAtLeast(body, probe[:], 1)
			if n == 0 {
				if rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
					err = rerr
				}
				break
			}
			if int64(len(data)) >= limit {
				truncated = true
				// Keep the connection if the rest is short; else close it.
				_, _ = io.CopyN(io.Discard, body, drainLimit)
				break
			}
			data = append(data, probe[0])
			continue
		}
		end := cap(data)
		if room := limit - int64(len(data)); int64(end-len(data)) > room {
			end = len(data) + int(room)
		}
		n, rerr := body.Read(data[len(data):end])
		data = data[:len(data)+n]
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	b := &bufferedBody{data: data, truncated: truncated}
	b.Reset(data)
	return b, err
}

// replayable returns a function that yields a fresh copy of req's body for
// each attempt, so that every retry sends the same bytes. fresh reports that
// req.Body itself was used up, so even the first attempt needs a copy.
func replayable(req *http.Request) (getBody func() (io.ReadCloser, error), fresh bool, err error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, false, nil
	}
	if req.GetBody != nil {
		return req.GetBody, false, nil
	}
	data, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, false, fmt.Errorf("leadway: reading the request body: %w", err)
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, true, nil
}
