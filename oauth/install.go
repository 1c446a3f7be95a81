package oauth

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// UserType says what an install grants: one location (sub-account), or an
// agency (company) that mints tokens for the locations it approved.
type UserType string

// The user types of the token endpoint's userType field.
const (
	// Location is a sub-account install: its access token calls the API
	// for that location.
	Location UserType = "Location"
	// Company is an agency install: its access token mints location tokens
	// (POST /oauth/locationToken) for the approved locations.
	Company UserType = "Company"
)

// Install is what the token endpoint answered for an install: the current
// token pair and HighLevel's fields. Stores keep it whole; it holds secrets,
// so its String, GoString and LogValue show everything but the tokens.
type Install struct {
	// AccessToken is the bearer token, valid until Expiry.
	AccessToken string `json:"access_token"`
	// RefreshToken redeems the next pair. It is single use: after a
	// refresh only the new one works. Minted location tokens have none.
	RefreshToken string `json:"refresh_token,omitempty"`
	// TokenType is "Bearer".
	TokenType string `json:"token_type"`
	// Scope is the space-separated list of scopes granted.
	Scope string `json:"scope,omitempty"`
	// Expiry is when the access token stops working, counted from when
	// the request for it was sent.
	Expiry time.Time `json:"expiry"`
	// IssuedAt is when the request for the token was sent; Expiry minus
	// IssuedAt is the token's lifetime, which sets the refresh margin.
	IssuedAt time.Time `json:"issued_at"`
	// UserType is Location or Company.
	UserType UserType `json:"user_type"`
	// LocationID is the location of a Location install.
	LocationID string `json:"location_id,omitempty"`
	// CompanyID is the agency the install belongs to.
	CompanyID string `json:"company_id,omitempty"`
	// UserID is the user who installed the app.
	UserID string `json:"user_id,omitempty"`
	// PlanID is the app plan the install is on.
	PlanID string `json:"plan_id,omitempty"`
	// ApprovedLocations are the locations a Company install may mint
	// tokens for.
	ApprovedLocations []string `json:"approved_locations,omitempty"`
	// BulkInstallation reports an agency-wide install.
	BulkInstallation bool `json:"bulk_installation,omitempty"`
}

// Key names the install in a [Store]: "location:<LocationID>" for a
// Location install, "company:<CompanyID>" for a Company one.
func (in *Install) Key() string {
	if in.UserType == Company {
		return CompanyKey(in.CompanyID)
	}
	return LocationKey(in.LocationID)
}

// LocationKey is the store key of the Location install of location id.
func LocationKey(id string) string { return "location:" + id }

// CompanyKey is the store key of the Company install of company id.
func CompanyKey(id string) string { return "company:" + id }

// mintedKey is the store key of the location token last minted for
// location id from a Company install, shared by every process.
func mintedKey(id string) string { return "minted:" + id }

// isInstallKey reports whether a store key names an install rather than a
// minted token.
func isInstallKey(key string) bool {
	return strings.HasPrefix(key, "location:") || strings.HasPrefix(key, "company:")
}

// Token returns the access token as an [oauth2.Token], without the refresh
// token: the manager alone redeems it.
func (in *Install) Token() *oauth2.Token {
	return &oauth2.Token{AccessToken: in.AccessToken, TokenType: orDefault(in.TokenType, "Bearer"), Expiry: in.Expiry}
}

// Approves reports whether a Company install lists locationID among its
// approved locations.
func (in *Install) Approves(locationID string) bool {
	return in.UserType == Company && slices.Contains(in.ApprovedLocations, locationID)
}

// describe names the install in messages: "location L" or "company C".
func (in *Install) describe() string {
	if in.UserType == Company {
		return "company " + in.CompanyID
	}
	return "location " + in.LocationID
}

func (in *Install) clone() *Install {
	if in == nil {
		return nil
	}
	c := *in
	c.ApprovedLocations = slices.Clone(in.ApprovedLocations)
	return &c
}

// lifetime is how long the access token was issued for; a day when the
// install does not say.
func (in *Install) lifetime() time.Duration {
	if in.IssuedAt.IsZero() || !in.Expiry.After(in.IssuedAt) {
		return 24 * time.Hour
	}
	return in.Expiry.Sub(in.IssuedAt)
}

// String describes the install without its tokens.
func (in Install) String() string {
	s := fmt.Sprintf("%s install of %s, expires %s", in.UserType, in.describe(), in.Expiry.UTC().Format(time.RFC3339))
	if in.UserType == Company {
		s += fmt.Sprintf(", %d approved locations", len(in.ApprovedLocations))
	}
	return s
}

// GoString is String, so that %#v shows no token either.
func (in Install) GoString() string { return in.String() }

// Format prints String whatever the verb, so that no verb (%+v, %d, %x)
// prints the tokens.
func (in Install) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, in.String()) }

// LogValue logs the install without its tokens.
func (in Install) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("key", in.Key()),
		slog.String("user_type", string(in.UserType)),
		slog.String("company_id", in.CompanyID),
		slog.Int("approved_locations", len(in.ApprovedLocations)),
		slog.Time("expiry", in.Expiry),
		slog.String("scope", in.Scope),
	)
}
