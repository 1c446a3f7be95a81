package leadway

import (
	"fmt"
	"math"
	"slices"
)

// maxFollowers is the vendor's limit of follower IDs per call.
const maxFollowers = 10

// prepare returns a copy of req with the follower fields' no-op defaults
// filled in, or [ValidationErrors] naming every field the contract forbids.
func prepare(req UpsertRequest) (UpsertRequest, error) {
	var problems ValidationErrors
	invalid := func(field, format string, args ...any) {
		problems = append(problems, &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if req.Id != nil && *req.Id == "" {
		invalid("id", "is empty; leave it nil to create an opportunity")
	}
	if req.PipelineId == "" {
		invalid("pipelineId", "is required")
	}
	if req.LocationId == "" {
		invalid("locationId", "is required")
	}
	if req.Status != nil && !req.Status.Valid() {
		invalid("status", "%q is not one of open, won, lost, abandoned, all", *req.Status)
	}
	if req.FollowersActionType != "" && !req.FollowersActionType.Valid() {
		invalid("followersActionType", "%q is not one of add, remove", req.FollowersActionType)
	}
	if len(req.Followers) > maxFollowers {
		invalid("followers", "has %d IDs; at most %d are allowed per call", len(req.Followers), maxFollowers)
	}
	if i := slices.Index(req.Followers, ""); i >= 0 {
		invalid("followers", "ID at index %d is empty", i)
	}
	if v := req.MonetaryValue; v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
		invalid("monetaryValue", "%v is not a finite number", *v)
	}
	if len(problems) > 0 {
		return UpsertRequest{}, problems
	}
	if req.FollowersActionType == "" {
		req.FollowersActionType = FollowersAdd
	}
	if req.Followers == nil {
		// Sent as [], never null: a no-op for the server.
		req.Followers = []string{}
	} else {
		req.Followers = slices.Clone(req.Followers)
	}
	return req, nil
}
