package leadwaytest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/gen"
	"github.com/leadwaycrm/leadway/leadwaytest/internal/fakeapi"
)

// timeLayout is how the vendor writes timestamps: ISO 8601, UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// store holds the opportunities. The Server's mutex guards it.
type store struct {
	byID  map[string]*leadway.Opportunity
	order []string // ids in creation order
	seq   int      // last server-assigned id
}

func newStore() store {
	return store{byID: make(map[string]*leadway.Opportunity)}
}

// newID returns the next server-assigned id: 20 characters, like the
// vendor's, and predictable.
func (st *store) newID() string {
	for {
		st.seq++
		id := fmt.Sprintf("opp%017d", st.seq)
		if st.byID[id] == nil {
			return id
		}
	}
}

// handler implements the generated strict server interface; a type of its
// own keeps the generated signatures out of Server's method set.
type handler struct{ s *Server }

// UpsertOpportunity creates or updates an opportunity by the rules in the
// package documentation. The request has passed validation.
func (h handler) UpsertOpportunity(ctx context.Context, req fakeapi.UpsertOpportunityRequestObject) (fakeapi.UpsertOpportunityResponseObject, error) {
	s := h.s
	body := req.Body
	now := s.cfg.now().UTC().Format(timeLayout)

	s.mu.Lock()
	defer s.mu.Unlock()
	var opp *leadway.Opportunity
	if body.Id != nil {
		opp = s.store.byID[*body.Id]
	}
	if opp != nil && opp.LocationId != body.LocationId {
		msg := fmt.Sprintf("Opportunity %s belongs to another location", *body.Id)
		return fakeapi.UpsertOpportunity400JSONResponse{Body: gen.BadRequestError{StatusCode: ptr(http.StatusBadRequest), Message: &msg}}, nil
	}
	created := opp == nil
	if created {
		var id string
		if body.Id != nil {
			id = *body.Id
		} else {
			id = s.store.newID()
		}
		opp = &leadway.Opportunity{
			Id:         id,
			LocationId: body.LocationId,
			CreatedAt:  now,
			Source:     "api",
			Status:     leadway.StatusOpen,
			Followers:  []string{},
		}
		opp.LastStatusChangeAt = now
		s.store.byID[id] = opp
		s.store.order = append(s.store.order, id)
		s.stats.Created++
	} else {
		s.stats.Updated++
	}
	merge(opp, body, now)
	opp.Followers = followers(opp.Followers, body)
	opp.UpdatedAt = now
	opp.LastActionDate = now

	q, _ := ctx.Value(quotaKey{}).(quota)
	return fakeapi.UpsertOpportunity200JSONResponse{
		Body:    gen.UpsertOpportunityResult{New: created, Opportunity: clone(opp)},
		Headers: q.headers(),
	}, nil
}

// merge copies the fields the request carries onto opp.
func merge(opp *leadway.Opportunity, body *leadway.UpsertRequest, now string) {
	opp.PipelineId = body.PipelineId
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&opp.Name, body.Name)
	set(&opp.AssignedTo, body.AssignedTo)
	set(&opp.ContactId, body.ContactId)
	set(&opp.LostReasonId, body.LostReasonId)
	if body.MonetaryValue != nil {
		opp.MonetaryValue = *body.MonetaryValue
	}
	if body.Status != nil && opp.Status != *body.Status {
		opp.Status = *body.Status
		opp.LastStatusChangeAt = now
	}
	if body.PipelineStageId != nil && opp.PipelineStageId != *body.PipelineStageId {
		opp.PipelineStageId = *body.PipelineStageId
		opp.LastStageChangeAt = now
	}
}

// followers applies the request's follower fields to the current list:
// remove-all first, then add or remove. It returns a new slice, so answers
// already handed out never change.
func followers(current []string, body *leadway.UpsertRequest) []string {
	next := slices.Clone(current)
	if body.IsRemoveAllFollowers {
		next = next[:0]
	}
	for _, id := range body.Followers {
		switch body.FollowersActionType {
		case leadway.FollowersAdd:
			if !slices.Contains(next, id) {
				next = append(next, id)
			}
		case leadway.FollowersRemove:
			next = slices.DeleteFunc(next, func(f string) bool { return f == id })
		}
	}
	if next == nil {
		next = []string{}
	}
	return next
}

// clone copies an opportunity for an answer that is encoded after the lock
// is released. Slice and pointer fields are replaced, never written
// through, so a shallow copy suffices.
func clone(o *leadway.Opportunity) leadway.Opportunity {
	return *o
}

// Opportunities returns the stored opportunities in the order they were
// created.
func (s *Server) Opportunities() []leadway.Opportunity {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]leadway.Opportunity, 0, len(s.store.order))
	for _, id := range s.store.order {
		out = append(out, toClient(s.store.byID[id]))
	}
	return out
}

// Opportunity returns the stored opportunity with the given id, and whether
// there is one.
func (s *Server) Opportunity(id string) (leadway.Opportunity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.store.byID[id]
	if !ok {
		return leadway.Opportunity{}, false
	}
	return toClient(o), true
}

// toClient returns a deep copy of a stored opportunity, so that callers
// cannot change what the fake holds.
func toClient(o *leadway.Opportunity) leadway.Opportunity {
	data, err := json.Marshal(o)
	if err != nil {
		panic(fmt.Sprintf("leadwaytest: encoding an opportunity: %v", err))
	}
	var out leadway.Opportunity
	if err := json.Unmarshal(data, &out); err != nil {
		panic(fmt.Sprintf("leadwaytest: decoding an opportunity: %v", err))
	}
	return out
}
