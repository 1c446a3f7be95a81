package leadway

import (
	"fmt"
	"math"
	"slices"
)

// maxFollowers is the vendor's limit of follower IDs per call.
const maxFollowers = 10

// prepare returns a copy of req with the follower fields' no-op defaults
// filled in, or a *ValidationError naming the first field the contract
// forbids.
func prepare(req UpsertRequest) (UpsertRequest, error) {
	invalid := func(field, format string, args ...any) (UpsertRequest, error) {
		return UpsertRequest{}, &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if req.PipelineId == "" {
		return invalid("pipelineId", "is required")
	}
	if req.LocationId == "" {
		return invalid("locationId", "is required")
	}
	if req.Id != nil && *req.Id == "" {
		return invalid("id", "is empty; leave it nil to create an opportunity")
	}
	if req.Status != nil && !req.Status.Valid() {
		return invalid("status", "%q is not one of open, won, lost, abandoned, all", *req.Status)
	}
	if req.FollowersActionType == "" {
		req.FollowersActionType = FollowersAdd
	} else if !req.FollowersActionType.Valid() {
		return invalid("followersActionType", "%q is not one of add, remove", req.FollowersActionType)
	}
	if len(req.Followers) > maxFollowers {
		return invalid("followers", "has %d IDs; at most %d are allowed per call", len(req.Followers), maxFollowers)
	}
	if i := slices.Index(req.Followers, ""); i >= 0 {
		return invalid("followers", "ID at index %d is empty", i)
	}
	if req.Followers == nil {
		// Sent as [], never null: a no-op for the server.
		req.Followers = []string{}
	} else {
		req.Followers = slices.Clone(req.Followers)
	}
	if v := req.MonetaryValue; v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
		return invalid("monetaryValue", "%v is not a finite number", *v)
	}
	return req, nil
}
