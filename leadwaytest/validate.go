package leadwaytest

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/leadwaycrm/leadway/gen"
	"github.com/leadwaycrm/leadway/leadwaytest/internal/fakeapi"
	nethttpmiddleware "github.com/oapi-codegen/nethttp-middleware"
)

// Why the token check failed.
var (
	errMissingToken = errors.New("missing bearer token")
	errInvalidToken = errors.New("invalid token")
)

// newAPIHandler returns the generated server behind the contract's request
// validator. Each Server loads its own copy of the embedded spec, since the
// middleware edits it.
func (s *Server) newAPIHandler() (http.Handler, error) {
	spec, err := fakeapi.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("leadwaytest: loading the embedded contract: %w", err)
	}
	requireVersion(spec)
	strict := fakeapi.NewStrictHandlerWithOptions(handler{s}, nil, fakeapi.StrictHTTPServerOptions{
		// The validator has vetted the body; these only fire on a bug.
		RequestErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) {
			badRequest(w, "Request body could not be decoded: "+err.Error())
		},
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeError(w, http.StatusInternalServerError, err.Error(), "Internal Server Error")
		},
	})
	api := fakeapi.HandlerWithOptions(strict, fakeapi.StdHTTPServerOptions{
		ErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) {
			badRequest(w, err.Error())
		},
	})
	validate := nethttpmiddleware.OapiRequestValidatorWithOptions(spec, &nethttpmiddleware.Options{
		// The spec names the vendor's host; the fake listens elsewhere.
		DoNotValidateServers:  true,
		SilenceServersWarning: true,
		Options: openapi3filter.Options{
			// Collect every problem, so that a 422 lists them all and the
			// refusal can rank them as the vendor does.
			MultiError:         true,
			AuthenticationFunc: s.authenticate,
		},
		ErrorHandlerWithOpts: refuse,
	})
	return validate(api), nil
}

// requireVersion marks the Version header required in the fake's copy of
// the contract. The server refuses a request without it; the contract
// declares it optional only so that generated clients can set it once, at
// client creation (see the parameter's description), not to allow leaving
// it out.
func requireVersion(spec *openapi3.T) {
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p.Value != nil && p.Value.In == openapi3.ParameterInHeader && p.Value.Name == "Version" {
					p.Value.Required = true
				}
			}
		}
	}
	if p := spec.Components.Parameters["Version"]; p != nil && p.Value != nil {
		p.Value.Required = true
	}
}

// authenticate checks the bearer token for the contract's bearerAuth scheme.
func (s *Server) authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, token, ok := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return errMissingToken
	}
	if s.oauth != nil {
		location, _ := in.RequestValidationInput.Request.Context().Value(locationKey{}).(string)
		return s.oauth.authorizeUpsert(token, location)
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.Token)) != 1 {
		return errInvalidToken
	}
	return nil
}

// refuse answers a request the validator turned down with the first of: 401
// for the token, 400 for a malformed request, 422 listing every schema
// problem of the body. The vendor's error shapes are NestJS's, where guards
// (the token) run before validation, hence the order.
func refuse(_ context.Context, err error, w http.ResponseWriter, r *http.Request, opts nethttpmiddleware.ErrorHandlerOpts) {
	if opts.MatchedRoute == nil {
		writeError(w, http.StatusNotFound, "Cannot "+r.Method+" "+r.URL.Path, "Not Found")
		return
	}
	var (
		unauthorized string
		malformed    []string
		invalid      []string
	)
	for _, e := range flatten(err) {
		var sec *openapi3filter.SecurityRequirementsError
		var req *openapi3filter.RequestError
		switch {
		case errors.As(e, &sec):
			unauthorized = "Invalid token"
			if slices.ContainsFunc(sec.Errors, func(e error) bool { return errors.Is(e, errMissingToken) }) {
				unauthorized = "Missing Bearer token"
			}
			for _, e := range sec.Errors {
				var refusal tokenRefusal
				if errors.As(e, &refusal) {
					unauthorized = string(refusal)
				}
			}
		case errors.As(e, &req) && req.Parameter != nil:
			malformed = append(malformed, parameterMessage(req))
		case errors.As(e, &req) && req.RequestBody != nil:
			if schemaErrs := schemaErrors(req.Err); len(schemaErrs) > 0 {
				for _, se := range schemaErrs {
					invalid = append(invalid, schemaMessage(se))
				}
			} else {
				malformed = append(malformed, bodyMessage(req, r))
			}
		default:
			malformed = append(malformed, e.Error())
		}
	}
	switch {
	case unauthorized != "":
		_ = fakeapi.UpsertOpportunity401JSONResponse{Body: gen.UnauthorizedError{
			StatusCode: ptr(http.StatusUnauthorized),
			Message:    &unauthorized,
			Error:      ptr("Unauthorized"),
		}}.VisitUpsertOpportunityResponse(w)
	case len(malformed) > 0:
		badRequest(w, malformed[0])
	case len(invalid) > 0:
		_ = fakeapi.UpsertOpportunity422JSONResponse{Body: gen.UnprocessableError{
			StatusCode: ptr(http.StatusUnprocessableEntity),
			Message:    &invalid,
			Error:      ptr("Unprocessable Entity"),
		}}.VisitUpsertOpportunityResponse(w)
	default:
		badRequest(w, "Bad Request")
	}
}

func badRequest(w http.ResponseWriter, message string) {
	_ = fakeapi.UpsertOpportunity400JSONResponse{Body: gen.BadRequestError{
		StatusCode: ptr(http.StatusBadRequest),
		Message:    &message,
	}}.VisitUpsertOpportunityResponse(w)
}

// tooManyRequests is the body of a 429, as the vendor's throttler words it.
// The contract declares it, so that clients generated from the spec read a
// 429 as an error with a body rather than as an empty answer.
func tooManyRequests() gen.TooManyRequestsError {
	return gen.TooManyRequestsError{
		StatusCode: ptr(http.StatusTooManyRequests),
		Message:    ptr("Too Many Requests"),
		Error:      ptr("Too Many Requests"),
	}
}

// flatten lists the errors of a MultiError, or err alone. It looks at err
// itself only: errors.As would reach through a RequestError into the
// MultiError of its body and lose which part of the request failed.
func flatten(err error) []error {
	if me, ok := err.(openapi3.MultiError); ok {
		var all []error
		for _, e := range me {
			all = append(all, flatten(e)...)
		}
		return all
	}
	return []error{err}
}

// schemaErrors returns the schema violations err holds, if any.
func schemaErrors(err error) []*openapi3.SchemaError {
	var out []*openapi3.SchemaError
	for _, e := range flatten(err) {
		var se *openapi3.SchemaError
		if errors.As(e, &se) {
			out = append(out, se)
		}
	}
	return out
}

// parameterMessage words a bad header parameter; Version is the only one.
func parameterMessage(e *openapi3filter.RequestError) string {
	name := e.Parameter.Name
	if errors.Is(e.Err, openapi3filter.ErrInvalidRequired) || errors.Is(e.Err, openapi3filter.ErrInvalidEmptyValue) {
		return name + " header is required"
	}
	if s := e.Parameter.Schema; s != nil && s.Value != nil && len(s.Value.Enum) > 0 {
		return name + " header must be " + joinValues(s.Value.Enum, " or ")
	}
	return name + " header is invalid"
}

// bodyMessage words a body that could not be read as JSON.
func bodyMessage(e *openapi3filter.RequestError, r *http.Request) string {
	var pe *openapi3filter.ParseError
	switch {
	case errors.Is(e.Err, openapi3filter.ErrInvalidRequired):
		return "Request body is required"
	case errors.As(e.Err, &pe):
		return "Request body is not valid JSON: " + pe.RootCause().Error()
	case !isJSON(r.Header.Get("Content-Type")):
		return "Content-Type must be application/json"
	}
	return e.Error()
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// schemaMessage words a schema violation as the vendor's validator
// (class-validator) does, such as "property gender should not exist".
func schemaMessage(se *openapi3.SchemaError) string {
	path := se.JSONPointer()
	field := strings.Join(path, ".")
	switch se.SchemaField {
	case "properties", "additionalProperties":
		if name, ok := unsupportedProperty(se.Reason); ok {
			return "property " + strings.Join(append(slices.Clone(path), name), ".") + " should not exist"
		}
	case "required":
		if len(path) > 0 {
			if p := se.Schema.Properties[path[len(path)-1]]; p != nil && p.Value != nil {
				return typeMessage(field, p.Value)
			}
			return field + " should not be empty"
		}
	case "type":
		if n := len(path); n > 1 {
			if _, err := strconv.Atoi(path[n-1]); err == nil {
				return "each value in " + typeMessage(strings.Join(path[:n-1], "."), se.Schema)
			}
		}
		return typeMessage(field, se.Schema)
	case "enum":
		return field + " must be one of the following values: " + joinValues(se.Schema.Enum, ", ")
	case "minLength":
		// Only ids carry minLength, and only 1: class-validator's IsNotEmpty.
		if n := len(path); n > 1 {
			if _, err := strconv.Atoi(path[n-1]); err == nil {
				return "each value in " + strings.Join(path[:n-1], ".") + " should not be empty"
			}
		}
		return field + " should not be empty"
	case "maxItems":
		if se.Schema.MaxItems != nil {
			return fmt.Sprintf("%s must contain no more than %d elements", field, *se.Schema.MaxItems)
		}
	}
	if field == "" {
		return "request body: " + se.Reason
	}
	return field + ": " + se.Reason
}

// typeMessage says which type field must have.
func typeMessage(field string, s *openapi3.Schema) string {
	if field == "" {
		return "request body must be a JSON object"
	}
	switch {
	case s.Type.Is(openapi3.TypeString):
		return field + " must be a string"
	case s.Type.Is(openapi3.TypeBoolean):
		return field + " must be a boolean value"
	case s.Type.Is(openapi3.TypeNumber), s.Type.Is(openapi3.TypeInteger):
		return field + " must be a number conforming to the specified constraints"
	case s.Type.Is(openapi3.TypeArray):
		return field + " must be an array"
	case s.Type.Is(openapi3.TypeObject):
		return field + " must be an object"
	}
	return field + " should not be empty"
}

// unsupportedProperty reads the name out of kin-openapi's
// `property "gender" is unsupported`.
func unsupportedProperty(reason string) (string, bool) {
	rest, ok := strings.CutPrefix(reason, "property ")
	if !ok {
		return "", false
	}
	quoted, ok := strings.CutSuffix(rest, " is unsupported")
	if !ok {
		return "", false
	}
	name, err := strconv.Unquote(quoted)
	return name, err == nil
}

func joinValues(values []any, sep string) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, sep)
}

func ptr[T any](v T) *T { return &v }
