package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/leadwaycrm/leadway/internal/redact"
	"golang.org/x/oauth2"
)

// Bounds on what the token endpoint may send.
const (
	// maxAnswerBytes caps an answer's body, as x/oauth2 does.
	maxAnswerBytes = 1 << 20
	// maxLifetime caps an announced expires_in: a longer one is read as a
	// year, so that the token is refreshed at least that often.
	maxLifetime = 366 * 24 * time.Hour
	// maxApproved caps how many approved locations an answer may list.
	maxApproved = 100_000
	// maxIDLen caps an id from an answer.
	maxIDLen = 256
)

// call is one request to the token or location-token endpoint.
type call struct {
	op      string     // "exchange", "refresh" or "mint"
	who     string     // the install, for messages
	key     string     // the store key whose lock the call runs under
	path    string     // "/oauth/token" or "/oauth/locationToken"
	form    url.Values // the form fields
	bearer  string     // the Authorization token, for locationToken
	secrets []string   // what to redact from anything the answer echoes
}

// send makes one attempt and returns the answer's body, or a *TokenError.
// sent is when the request left, which Expiry is counted from.
func (m *Manager) send(ctx context.Context, c *call) (body []byte, sent time.Time, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.cfg.BaseURL+c.path, strings.NewReader(c.form.Encode()))
	if err != nil {
		return nil, sent, &TokenError{Op: c.op, Install: c.who, Err: errors.New("building the request failed")}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
		req.Header.Set("Version", APIVersion)
	}
	sent = time.Now()
	resp, err := m.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, sent, &TokenError{Op: c.op, Install: c.who, Temporary: true, Err: scrub(err, c.secrets)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err == nil && len(data) > maxAnswerBytes {
		err = fmt.Errorf("answer larger than %d bytes", maxAnswerBytes)
	}
	temporary := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	if err != nil {
		// A body cut short: a 2xx may have spent the refresh token.
		return nil, sent, &TokenError{Op: c.op, Install: c.who, StatusCode: resp.StatusCode, Temporary: temporary, Err: scrub(err, c.secrets)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := retrieveError(resp, data, c.secrets)
		return nil, sent, &TokenError{Op: c.op, Install: c.who, StatusCode: resp.StatusCode, Code: re.ErrorCode, Temporary: temporary, Err: re}
	}
	return data, sent, nil
}

// retrieveError reads an error answer into x/oauth2's type, with every
// secret the request carried redacted from what the server sent back.
func retrieveError(resp *http.Response, body []byte, secrets []string) *oauth2.RetrieveError {
	clean := redact.All(string(body), secrets...)
	re := &oauth2.RetrieveError{Response: resp, Body: []byte(clean)}
	var shape struct {
		Error            any    `json:"error"`
		ErrorDescription string `json:"error_description"`
		ErrorURI         string `json:"error_uri"`
		Message          any    `json:"message"`
	}
	if json.Unmarshal([]byte(clean), &shape) == nil {
		re.ErrorCode, _ = shape.Error.(string)
		re.ErrorDescription = shape.ErrorDescription
		re.ErrorURI = shape.ErrorURI
		if msg, ok := shape.Message.(string); ok && re.ErrorDescription == "" {
			re.ErrorDescription = msg
		}
	}
	// Only a short printable code goes into messages.
	if len(re.ErrorCode) > 64 || !validValue(re.ErrorCode) {
		re.ErrorCode = ""
	}
	return re
}

// scrub redacts secrets from an error's text, keeping what it matches.
func scrub(err error, secrets []string) error {
	msg := err.Error()
	if clean := redact.All(msg, secrets...); clean != msg {
		return &scrubbed{msg: clean, err: err}
	}
	return err
}

type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }

// Is matches what the original matched, such as context.DeadlineExceeded.
func (s *scrubbed) Is(target error) bool { return errors.Is(s.err, target) }

// answer is a token answer: the OAuth fields and HighLevel's.
type answer struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	ExpiresIn    any    `json:"expires_in"`
	UserType     any    `json:"userType"`
	LocationID   any    `json:"locationId"`
	CompanyID    any    `json:"companyId"`
	UserID       any    `json:"userId"`
	PlanID       any    `json:"planId"`
	Approved     any    `json:"approvedLocations"`
	Bulk         any    `json:"isBulkInstallation"`
}

// parseAnswer reads a 2xx answer into an Install. The token fields are
// checked strictly; HighLevel's other fields leniently, as a field of an
// unexpected type must not cost the install whose refresh token the answer
// just replaced. wantRefresh says the grant must return a refresh token.
func parseAnswer(data []byte, sent time.Time, wantRefresh bool) (*Install, error) {
	var a answer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, errors.New("the answer is not a JSON object of the token fields")
	}
	switch {
	case a.AccessToken == "":
		return nil, errors.New("the answer has no access_token")
	case !validValue(a.AccessToken):
		return nil, errors.New("the answer's access_token contains white space or a control character")
	case wantRefresh && a.RefreshToken == "":
		return nil, errors.New("the answer has no refresh_token")
	case a.RefreshToken != "" && !validValue(a.RefreshToken):
		return nil, errors.New("the answer's refresh_token contains white space or a control character")
	case a.TokenType != "" && !strings.EqualFold(a.TokenType, "bearer"):
		return nil, errors.New("the answer's token_type is not Bearer")
	}
	lifetime, err := expiresIn(a.ExpiresIn)
	if err != nil {
		return nil, err
	}
	in := &Install{
		AccessToken:      a.AccessToken,
		RefreshToken:     a.RefreshToken,
		TokenType:        "Bearer",
		Scope:            a.Scope,
		IssuedAt:         sent,
		Expiry:           sent.Add(lifetime),
		UserType:         UserType(idField(a.UserType)),
		LocationID:       idField(a.LocationID),
		CompanyID:        idField(a.CompanyID),
		UserID:           idField(a.UserID),
		PlanID:           idField(a.PlanID),
		BulkInstallation: a.Bulk == true || a.Bulk == "true",
	}
	if list, ok := a.Approved.([]any); ok {
		for _, v := range list[:min(len(list), maxApproved)] {
			if id := idField(v); id != "" {
				in.ApprovedLocations = append(in.ApprovedLocations, id)
			}
		}
	}
	return in, nil
}

// expiresIn reads expires_in, a number or a numeric string, as a positive
// lifetime of at most maxLifetime.
func expiresIn(v any) (time.Duration, error) {
	var secs float64
	switch x := v.(type) {
	case float64:
		secs = x
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, errors.New("the answer's expires_in is not a number")
		}
		secs = f
	case nil:
		return 0, errors.New("the answer has no expires_in")
	default:
		return 0, errors.New("the answer's expires_in is not a number")
	}
	if math.IsNaN(secs) || secs <= 0 {
		return 0, fmt.Errorf("the answer's expires_in is %v: it must be positive", v)
	}
	if secs >= maxLifetime.Seconds() {
		return maxLifetime, nil
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// idField reads an id leniently: a string of at most maxIDLen printable
// bytes, else "".
func idField(v any) string {
	s, ok := v.(string)
	if !ok || len(s) > maxIDLen || !validValue(s) {
		return ""
	}
	return s
}
