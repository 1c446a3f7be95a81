#!/usr/bin/env bash
# Checks api/openapi.yaml (and api/oauth.yaml, linted and typed the same
# way) as a contract for clients in any language:
#   1. Redocly lint (recommended ruleset) and Spectral lint (spectral:oas):
#      no errors and no warnings from either;
#   2. TypeScript types generated with openapi-typescript, and ts/usage.ts
#      type-checked against them with tsc;
#   3. a TypeScript round trip on openapi-fetch (ts/roundtrip.test.mts)
#      against `leadway fake`, under Node's test runner;
#   4. the breaking-change gate (specgate, oasdiff) against released/openapi.yaml,
#      and the gate's own tests.
# Everything it runs is installed from the project's files: package-lock.json
# through npm ci, and go.sum files through the Go module proxy.
set -euo pipefail

api="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$api"

# Redocly would otherwise phone home for telemetry and update notices.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

step() { printf '\n==> %s\n' "$*"; }

step "npm ci (api/package-lock.json)"
npm ci --no-audit --no-fund --loglevel=error
bin="$api/node_modules/.bin"

step "redocly lint openapi.yaml"
lint=("$bin/redocly" lint --config redocly.yaml --lint-config=error openapi.yaml)
"${lint[@]}"
# redocly exits 0 on warnings, and the spec must have none: count them from
# the JSON report (its stderr repeats what the run above printed).
"${lint[@]}" --format=json 2>/dev/null | node -e '
  let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
    const t = JSON.parse(s).totals;
    console.log(`lint: ${t.errors} errors, ${t.warnings} warnings, ${t.ignored} ignored`);
    if (t.errors + t.warnings + t.ignored > 0) process.exit(1);
  });'

step "spectral lint openapi.yaml (spectral:oas)"
# --fail-severity=hint: a warning fails the check too. The JSON report is
# counted as well, so that the log shows the figures either way.
"$bin/spectral" lint --ruleset .spectral.yaml --fail-severity=hint openapi.yaml
"$bin/spectral" lint --ruleset .spectral.yaml --format=json --quiet openapi.yaml | node -e '
  let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
    const r = s.trim() === "" ? [] : JSON.parse(s);
    const n = sev => r.filter(x => x.severity === sev).length;
    console.log(`spectral: ${n(0)} errors, ${n(1)} warnings, ${n(2)} infos, ${n(3)} hints`);
    if (r.length > 0) process.exit(1);
  });'

step "openapi-typescript openapi.yaml -> ts/schema.d.ts; tsc --noEmit"
"$bin/openapi-typescript" openapi.yaml --output ts/schema.d.ts
"$bin/tsc" --noEmit -p ts/tsconfig.json
echo "tsc: ts/usage.ts type-checks against the generated types"

step "TypeScript round trip: openapi-fetch against leadway fake (node --test)"
rm -rf ts/build
"$bin/tsc" -p ts/tsconfig.test.json
work="$(mktemp -d)"
fake_pid=""
cleanup() {
	if [[ -n "$fake_pid" ]]; then
		kill "$fake_pid" 2>/dev/null || true
		wait "$fake_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
(cd "$api/.." && go build -o "$work/leadway" ./cmd/leadway)
"$work/leadway" fake --addr 127.0.0.1:0 --token spec-check-token --rate-max 3 --quiet >"$work/fake.out" 2>&1 &
fake_pid=$!
url=""
for _ in $(seq 100); do
	url="$(sed -n 's/^Fake Leadway API listening on //p' "$work/fake.out")"
	[[ -n "$url" ]] && break
	kill -0 "$fake_pid" 2>/dev/null || break
	sleep 0.1
done
if [[ -z "$url" ]]; then
	echo "leadway fake did not start:" >&2
	cat "$work/fake.out" >&2
	exit 1
fi
LEADWAY_BASE_URL="$url" LEADWAY_TOKEN=spec-check-token node --test ts/build/
cleanup
fake_pid=""
trap - EXIT

step "oauth.yaml: redocly lint, spectral lint, openapi-typescript and tsc"
# The OAuth endpoints' contract, for clients in any language: the same
# checks as openapi.yaml's, and ts/oauth-usage.ts type-checked against it.
oauth_lint=("$bin/redocly" lint --config redocly.yaml --lint-config=error oauth.yaml)
"${oauth_lint[@]}"
"${oauth_lint[@]}" --format=json 2>/dev/null | node -e '
  let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
    const t = JSON.parse(s).totals;
    console.log(`lint: ${t.errors} errors, ${t.warnings} warnings, ${t.ignored} ignored`);
    if (t.errors + t.warnings + t.ignored > 0) process.exit(1);
  });'
"$bin/spectral" lint --ruleset .spectral.yaml --fail-severity=hint oauth.yaml
"$bin/openapi-typescript" oauth.yaml --output ts/oauth-schema.d.ts
"$bin/tsc" --noEmit -p ts/tsconfig.oauth.json
echo "tsc: ts/oauth-usage.ts type-checks against the generated types"

step "breaking-change gate: released/openapi.yaml -> openapi.yaml"
cd "$api/specgate"
go run . -base ../released/openapi.yaml -revision ../openapi.yaml -changelog ../CHANGELOG.md

step "specgate: gofmt, go vet, go test"
unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
	echo "gofmt: not formatted: $unformatted" >&2
	exit 1
fi
go vet ./...
go test -count=1 ./...

printf '\nspec-check: all checks passed\n'
