package leadway

import "github.com/leadwaycrm/leadway/gen"

const (
	// APIVersion is the Version header value the upsert endpoint requires.
	APIVersion = "2021-07-28"
	// LibraryVersion is this module's version, sent in the default
	// User-Agent so that the vendor's logs tell client releases apart. No
	// version is tagged yet; "0.0.0-dev" says so rather than claim one.
	LibraryVersion = "0.0.0-dev"
)

// Types of the contract, generated from api/openapi.yaml into package gen.
// They are aliases, so values pass between this package and gen without
// conversion; the field lists below are what `go doc` cannot show through
// an alias (`go doc github.com/leadwaycrm/leadway/gen.Opportunity` shows
// the struct itself).
type (
	// UpsertRequest is the body of an upsert, [gen.UpsertOpportunityRequest].
	// Optional fields are pointers, because absent means "leave unchanged"
	// on an update and differs from a zero value (a MonetaryValue of 0, an
	// empty Name); set them with [Ptr]. Fields:
	//
	//	Id                   *string          // opportunity to update; nil creates one
	//	PipelineId           string           // required
	//	LocationId           string           // required
	//	ContactId            *string
	//	Followers            []string         // user IDs, at most 10; nil is sent as []
	//	IsRemoveAllFollowers bool
	//	FollowersActionType  FollowersAction  // "" is sent as FollowersAdd
	//	Name                 *string
	//	Status               *Status
	//	PipelineStageId      *string
	//	MonetaryValue        *float64
	//	AssignedTo           *string
	//	LostReasonId         *string
	UpsertRequest = gen.UpsertOpportunityRequest
	// Opportunity is an opportunity as the API returns it,
	// [gen.Opportunity]. Every field is optional in the answer, and one
	// the answer leaves out reads as its zero value, so the fields carry no
	// pointers (Contact excepted, since nil tells "no contact" apart).
	// Timestamps are ISO 8601 strings as sent. Fields:
	//
	//	Id                 string
	//	Name               string
	//	MonetaryValue      float64
	//	PipelineId         string
	//	PipelineStageId    string
	//	AssignedTo         string
	//	Status             Status   // compare with StatusOpen...; a value this client does not know still decodes
	//	Source             string
	//	ContactId          string
	//	LocationId         string
	//	LostReasonId       string
	//	CreatedAt          string
	//	UpdatedAt          string
	//	LastStatusChangeAt string
	//	LastStageChangeAt  string
	//	LastActionDate     string
	//	Contact            *OpportunityContact
	//	CustomFields       []CustomField
	//	Followers          []string // user IDs
	Opportunity = gen.Opportunity
	// OpportunityContact is the contact an opportunity is for,
	// [gen.OpportunityContact]. Fields:
	//
	//	Id          string
	//	Name        string
	//	CompanyName string
	//	Email       string
	//	Phone       string
	//	Tags        []string
	OpportunityContact = gen.OpportunityContact
	// CustomField is a custom field value of an opportunity,
	// [gen.CustomField]. Fields:
	//
	//	Id         string
	//	FieldValue any // a string, an object, or an array of either
	CustomField = gen.CustomField
	// Status is an opportunity's status, the same type in requests and in
	// [Opportunity], so o.Status == StatusOpen compiles. Its values are
	// [StatusOpen], [StatusWon], [StatusLost], [StatusAbandoned] and
	// [StatusAll]; Valid reports whether a value is one of them. An answer
	// may carry a status newer than this client, which decodes as it is.
	Status = gen.OpportunityStatus
	// FollowersAction says whether Followers are added or removed:
	// [FollowersAdd] (the default) or [FollowersRemove].
	FollowersAction = gen.UpsertOpportunityRequestFollowersActionType
)

// Values of [Status] and [FollowersAction].
const (
	StatusOpen      = gen.OpportunityStatusOpen
	StatusWon       = gen.OpportunityStatusWon
	StatusLost      = gen.OpportunityStatusLost
	StatusAbandoned = gen.OpportunityStatusAbandoned
	StatusAll       = gen.OpportunityStatusAll

	FollowersAdd    = gen.UpsertOpportunityRequestFollowersActionTypeAdd
	FollowersRemove = gen.UpsertOpportunityRequestFollowersActionTypeRemove
)

// Ptr returns a pointer to v, for the optional fields of [UpsertRequest].
func Ptr[T any](v T) *T { return &v }
