package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/leadwaycrm/leadway"
)

// errDryRun stops the client at the transport, after it built the request.
var errDryRun = errors.New("dry run: request not sent")

// captureTransport records the request the client hands it and sends
// nothing, so that a dry run shows the client's exact bytes.
type captureTransport struct {
	req  *http.Request
	body []byte
}

func (c *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		c.body = body
	}
	c.req = req
	return nil, errDryRun
}

// dryRun runs the real client against a capturing transport and prints the
// request it would have sent: method, URL, headers (credentials redacted)
// and the JSON body. The token may be unset, since it is never shown.
func dryRun(ctx context.Context, e env, token string, req leadway.UpsertRequest, opts []leadway.Option) int {
	if token == "" {
		token = "unset"
	}
	capture := &captureTransport{}
	client, err := leadway.New(token, append(opts,
		leadway.WithHTTPClient(&http.Client{Transport: capture}),
		leadway.WithMaxRetries(0),
		leadway.WithoutRateLimiter(),
	)...)
	if err != nil {
		return fail(e, asUsage(err))
	}
	_, err = client.Upsert(ctx, req)
	if capture.req == nil {
		return fail(e, err) // refused before sending, such as a validation error
	}
	if !errors.Is(err, errDryRun) {
		return fail(e, err)
	}
	var b bytes.Buffer
	// The client's own redaction, as in its logs and errors: a token can
	// sit in a base URL's path or in a field, not only in a header.
	fmt.Fprintf(&b, "%s %s\n", capture.req.Method, client.RedactString(capture.req.URL.String()))
	keys := make([]string, 0, len(capture.req.Header))
	for k := range capture.req.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	header := client.Redact(capture.req.Header)
	for _, k := range keys {
		for _, v := range header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintf(&b, "\n%s\n", client.RedactString(string(capture.body)))
	_, _ = e.stdout.Write(b.Bytes())
	return exitOK
}
