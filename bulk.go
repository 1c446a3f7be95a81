package leadway

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"
)

// ErrNotSent is wrapped by the error of a [BulkResult] whose request was
// never handed to the API: the context ended first, or its location's daily
// budget was used up. Sending it again later is safe, with or without an id.
var ErrNotSent = errors.New("leadway: not sent")

// Validate checks req against the contract, as [Client.Upsert] does before
// sending, and returns [ValidationErrors] naming every field it forbids, or
// nil. Use it to check a whole batch before any of it is sent.
func Validate(req UpsertRequest) error {
	_, err := prepare(req)
	return err
}

// Bulk defaults.
const (
	// DefaultBulkPerLocation is how many calls per location [Client.UpsertAll]
	// keeps in flight by default: enough to fill the vendor's burst budget
	// at a few hundred milliseconds per call.
	DefaultBulkPerLocation = 4
	// DefaultBulkMaxPending is how many requests [Client.UpsertAll] reads
	// ahead of the calls by default.
	DefaultBulkMaxPending = 1024
)

// BulkOptions tunes [Client.UpsertAll]. The zero value, or nil, uses the
// defaults.
type BulkOptions struct {
	// PerLocation is how many calls per location may be in flight at once.
	// The client's limiter still paces them. Default: [DefaultBulkPerLocation].
	PerLocation int
	// MaxPending bounds how many requests are read from the input before
	// their result has been yielded, so that memory stays flat however long
	// the input. Default: [DefaultBulkMaxPending].
	MaxPending int
	// BeforeSend, when set, is called with each request just before it is
	// handed to [Client.Upsert], for example to record durably that it may
	// reach the server. A non-nil error skips the call and becomes the
	// result's error. It is called from several goroutines at once.
	BeforeSend func(index int, req UpsertRequest) error
	// ItemContext, when set, returns the context of each request's call,
	// derived from ctx, for example to carry the item's key to a
	// RoundTripper given with [WithHTTPClient], which sees each attempt
	// only once the limiter has let it go.
	ItemContext func(ctx context.Context, index int) context.Context
	// AfterCall, when set, is called with each result on the goroutine
	// that made the call, before that goroutine takes its location's next
	// request, for example to record the outcome before the next request
	// can leave. Results not sent are passed too. It is called from several
	// goroutines at once.
	AfterCall func(r *BulkResult)
}

// BulkResult is the outcome of one request of [Client.UpsertAll].
type BulkResult struct {
	// Index is the request's position in the input, from 0.
	Index int
	// Request is the request as it was read from the input.
	Request UpsertRequest
	// Result is the call's result when Err is nil.
	Result *UpsertResult
	// Err is the call's error, such as a [*ValidationError], an
	// [*APIError] or an [*UnknownOutcomeError]. It wraps [ErrNotSent] when
	// the request was never sent.
	Err error
}

// UpsertAll upserts every request of reqs and yields one [BulkResult] per
// request read.
//
// Requests for different locations run concurrently, up to
// opts.PerLocation calls per location, all within the client's limiter.
// Calls of one location start in input order. Results are yielded in the
// order the calls end, which is not the input order: match them by Index.
//
// When a call fails with a [*RateLimitError] whose Daily is true (a 429, or
// the limiter refusing before sending), the location's budget is spent for
// the day: its remaining requests are not sent and are yielded with an
// error that wraps both [ErrNotSent] and that *RateLimitError, so RetryAfter
// says when to go on. Other locations carry on.
//
// When ctx ends, UpsertAll stops reading reqs; requests already read and not
// yet sent are yielded with an error wrapping [ErrNotSent] and ctx's error,
// and calls in flight end with their own error. To stop gracefully, letting
// calls in flight finish, end the input sequence instead and keep ctx alive.
// Breaking out of the loop cancels the calls in flight and returns once they
// have ended. reqs is ranged over in another goroutine; a nil reqs yields
// nothing.
func (c *Client) UpsertAll(ctx context.Context, reqs iter.Seq[UpsertRequest], opts *BulkOptions) iter.Seq[BulkResult] {
	var o BulkOptions
	if opts != nil {
		o = *opts
	}
	if o.PerLocation <= 0 {
		o.PerLocation = DefaultBulkPerLocation
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultBulkMaxPending
	}
	return func(yield func(BulkResult) bool) {
		if ctx == nil {
			yield(BulkResult{Err: errors.New("leadway: nil context")})
			return
		}
		if reqs == nil {
			return // no requests, no results
		}
		b := &bulk{
			c:       c,
			opts:    o,
			results: make(chan BulkResult),
			slots:   make(chan struct{}, o.MaxPending),
			queues:  make(map[string]*bulkQueue),
		}
		b.ctx, b.cancel = context.WithCancel(ctx)
		defer b.cancel()
		b.wg.Add(1)
		go b.dispatch(reqs)
		go func() {
			b.wg.Wait()
			close(b.results)
		}()
		for r := range b.results {
			if !yield(r) {
				b.cancel()
				for range b.results { // let every goroutine end
				}
				return
			}
		}
	}
}

type bulk struct {
	c       *Client
	opts    BulkOptions
	ctx     context.Context // cancelled also when the consumer stops
	cancel  context.CancelFunc
	results chan BulkResult
	slots   chan struct{}
	wg      sync.WaitGroup

	mu     sync.Mutex
	queues map[string]*bulkQueue
}

type bulkItem struct {
	index int
	req   UpsertRequest
}

// bulkQueue holds the requests of one location not yet taken by a worker.
type bulkQueue struct {
	items   []bulkItem
	workers int
	stopped error // a daily *RateLimitError once the budget is spent
}

func (b *bulk) dispatch(reqs iter.Seq[UpsertRequest]) {
	defer b.wg.Done()
	i := 0
	for req := range reqs {
		select {
		case b.slots <- struct{}{}:
		case <-b.ctx.Done():
			// Read but never queued: it still gets its result.
			b.results <- BulkResult{Index: i, Request: req, Err: &notSentError{cause: context.Cause(b.ctx)}}
			return
		}
		b.enqueue(bulkItem{index: i, req: req})
		i++
		if b.ctx.Err() != nil {
			return
		}
	}
}

func (b *bulk) enqueue(it bulkItem) {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.queues[it.req.LocationId]
	if q == nil {
		q = &bulkQueue{}
		b.queues[it.req.LocationId] = q
	}
	q.items = append(q.items, it)
	if q.workers < b.opts.PerLocation {
		q.workers++
		b.wg.Add(1)
		go b.work(q)
	}
}

// next takes the location's next request, or reports that none is left and
// the worker ends.
func (b *bulk) next(q *bulkQueue) (bulkItem, error, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(q.items) == 0 {
		q.workers--
		return bulkItem{}, nil, false
	}
	it := q.items[0]
	q.items[0] = bulkItem{}
	q.items = q.items[1:]
	return it, q.stopped, true
}

func (b *bulk) work(q *bulkQueue) {
	defer b.wg.Done()
	for {
		it, stopped, ok := b.next(q)
		if !ok {
			return
		}
		r := BulkResult{Index: it.index, Request: it.req}
		switch {
		case stopped != nil:
			r.Err = &notSentError{cause: stopped}
		case b.ctx.Err() != nil:
			r.Err = &notSentError{cause: context.Cause(b.ctx)}
		default:
			r.Result, r.Err = b.call(it)
			var rl *RateLimitError
			if errors.As(r.Err, &rl) && rl.Daily {
				b.mu.Lock()
				if q.stopped == nil {
					q.stopped = rl
				}
				b.mu.Unlock()
			}
		}
		if b.opts.AfterCall != nil {
			b.opts.AfterCall(&r)
		}
		// The consumer reads every result, draining them when it stops.
		b.results <- r
		<-b.slots
	}
}

func (b *bulk) call(it bulkItem) (*UpsertResult, error) {
	if b.opts.BeforeSend != nil {
		if err := b.opts.BeforeSend(it.index, it.req); err != nil {
			return nil, err
		}
	}
	ctx := b.ctx
	if b.opts.ItemContext != nil {
		ctx = b.opts.ItemContext(ctx, it.index)
	}
	return b.c.Upsert(ctx, it.req)
}

// notSentError is the error of a request UpsertAll never sent.
type notSentError struct{ cause error }

func (e *notSentError) Error() string {
	var rl *RateLimitError
	if errors.As(e.cause, &rl) && rl.APIError == nil {
		// A limiter's refusal carries no response to describe.
		return fmt.Sprintf("leadway: not sent: daily budget used up; try again in %s", rl.RetryAfter.Round(time.Second))
	}
	return "leadway: not sent: " + strings.TrimPrefix(e.cause.Error(), "leadway: ")
}

// Unwrap returns [ErrNotSent] and the reason the request was not sent.
func (e *notSentError) Unwrap() []error { return []error{ErrNotSent, e.cause} }
