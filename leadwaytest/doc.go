// Package leadwaytest runs a fake Leadway CRM API in process, for testing
// code that uses package leadway without an account or a network.
//
//	srv := leadwaytest.NewServer()
//	defer srv.Close()
//	client, err := srv.Client() // leadway.New(srv.Token, leadway.WithBaseURL(srv.URL))
//
// The fake serves POST /opportunities/upsert through server code that
// oapi-codegen generates from api/openapi.yaml, the same contract the client
// in package gen is generated from, so the two cannot drift apart. It keeps
// opportunities in memory, enforces rate budgets, and can be told to fail.
// It is safe for concurrent use.
//
// # What is validated
//
// Every request is checked against the contract with kin-openapi (through
// github.com/oapi-codegen/nethttp-middleware) before it is handled. A request
// the contract forbids is refused with the vendor's error shapes. After the
// rate budgets (429) and the body size cap (413, see below), checks run in
// this order, the first failing one deciding the answer:
//
//   - 401 {"statusCode":401,"message":...,"error":"Unauthorized"}: the
//     Authorization header is missing or not "Bearer <token>" (message
//     "Missing Bearer token"), or carries another token than [Server.Token]
//     (message "Invalid token").
//   - 400 {"statusCode":400,"message":...}: a malformed request. The Version
//     header is missing ("Version header is required") or is not 2021-07-28
//     ("Version header must be 2021-07-28"); the Content-Type is not JSON
//     ("Content-Type must be application/json"); the body is missing
//     ("Request body is required") or is not JSON ("Request body is not
//     valid JSON: ..."). Also an id that belongs to another location (see
//     below).
//   - 422 {"statusCode":422,"message":[...],"error":"Unprocessable Entity"}:
//     the body breaks the schema. message lists every problem, worded as the
//     vendor's validator words them: "property gender should not exist" for
//     an unknown property (the request schema forbids them), "pipelineId
//     must be a string" for a missing or mistyped string, "status must be
//     one of the following values: open, won, lost, abandoned, all" for a
//     bad enum, "followers must contain no more than 10 elements", and so on.
//
// Outside the contract: another path or method gets 404 {"statusCode":404,
// "message":"Cannot GET /path","error":"Not Found"}, and a body over 1 MiB
// gets 413 {"statusCode":413,"message":"Request entity too large"}.
//
// # How upserts behave
//
// The vendor does not document every rule; where it is silent the fake picks
// the simplest one:
//
//   - Without id, an upsert creates an opportunity with a server-assigned id
//     (opp00000000000000001, opp00000000000000002, ...: deterministic, so
//     tests can name them) and answers new: true.
//   - With the id of a stored opportunity, it updates that opportunity and
//     answers new: false with the merged opportunity: fields the request
//     carries replace the stored ones, fields it leaves out are kept.
//   - With an id the fake does not know, it creates the opportunity under
//     that id (new: true), so repeating the call updates it: an upsert with
//     an id is idempotent.
//   - With the id of an opportunity of another location, it refuses with
//     400 "Opportunity <id> belongs to another location".
//   - A new opportunity gets status "open" unless the request sets one,
//     source "api", and followers []. createdAt is set on creation,
//     updatedAt and lastActionDate on every upsert, lastStatusChangeAt on
//     creation and when the status changes, lastStageChangeAt when the stage
//     changes. Timestamps are ISO 8601 in UTC with milliseconds, from the
//     clock of [WithClock].
//   - Followers: isRemoveAllFollowers true first clears the followers; then
//     followersActionType "add" appends the ids in followers that are not
//     there yet (in order), and "remove" drops them (ids that are not
//     followers are ignored). So remove-all with add [a] leaves exactly [a],
//     and followers [] changes nothing.
//
// # Tokens
//
// The fake accepts exactly one token, [Server.Token]: a random one unless
// [WithToken] sets it.
//
// # OAuth
//
// [WithOAuth] turns the fake into a Marketplace app's OAuth server too, as
// api/oauth.yaml describes it, and checks every OAuth request against that
// document. GET /oauth/chooselocation approves the install of
// [WithApprovedInstall] at once and redirects to redirect_uri with a code
// and the state; [Server.AuthorizationCode] hands out a code directly.
// POST /oauth/token takes the form fields HighLevel's SDKs send (client_id,
// client_secret, grant_type authorization_code or refresh_token, code or
// refresh_token, and optionally user_type and redirect_uri) and answers
// HighLevel's token fields. POST /oauth/locationToken mints a location
// token (form fields companyId and locationId) for a Company access token
// sent as Bearer with the Version header. Access tokens live
// [WithTokenLifetime]. Refusals use the OAuth error shape:
// 400 invalid_grant for a code or refresh token that is unknown, expired,
// revoked or used already, 401 invalid_client, 400 invalid_request naming
// the field at fault.
//
// Refresh tokens are strictly single use: redeeming one twice, or a code
// twice, revokes the whole install, every access and refresh token of it,
// and counts in [OAuthStats].Reuses. Old access tokens stay valid until
// they expire. With OAuth on, an upsert needs a live access token issued
// for its locationId (a Location install's, or one minted for it), with the
// opportunities.write scope; anything else, [Server.Token] included, gets
// 401 with the vendor's shape. [Server.FailNextTokenRequests] and
// [Server.FailTokenRequestsFor] fail the token endpoints; [Server.FailNext]
// leaves them alone.
//
// # Rate limits
//
// Each location (the body's locationId; "" when the body has none) has two
// budgets: [WithRateLimit] requests per window (default: the vendor's 100
// per 10 seconds), counted in fixed or sliding windows as [WithWindow] says,
// and [WithDailyLimit] per day (default 200,000). A request within both uses
// one unit of each, even if it is then refused or failed on purpose; a
// request over either gets 429 with the contract's JSON body,
// {"statusCode":429,"message":"Too Many Requests","error":"Too Many Requests"},
// and uses nothing. A fixed window starts with the first request after the
// previous one ended, so a test never sees a window roll over at an
// arbitrary moment. Every answer carries
// X-RateLimit-Limit-Daily, X-RateLimit-Daily-Remaining,
// X-RateLimit-Interval-Milliseconds, X-RateLimit-Max and
// X-RateLimit-Remaining, with the figures after the request was counted.
//
// # Faults and assertions
//
// [Server.FailNext] makes the next requests fail: with a status, after a
// delay, with a connection reset or with a truncated body (see [Fault]).
// [Server.Requests] returns what was received, [Server.Opportunities] what is
// stored, and [Server.Stats] counts outcomes, such as the 429s sent.
//
// # Webhooks
//
// With [WithWebhook], the fake delivers HighLevel's opportunity webhooks
// after each upsert, signed with a fixed test key ([WebhookPublicKey],
// [SignWebhook]), and follows HighLevel's retry rule: only a 429 is
// delivered again ([WithWebhookRetry]); anything else drops the event, and
// [Server.LostWebhooks] lists what production would have lost.
//
// Importing this package brings kin-openapi into the importer's build;
// importing package leadway never does.
package leadwaytest
