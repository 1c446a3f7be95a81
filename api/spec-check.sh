#!/usr/bin/env bash
# Checks api/openapi.yaml as a contract for clients in any language:
#   1. Redocly lint (recommended ruleset): no errors and no warnings;
#   2. TypeScript types generated with openapi-typescript, and ts/usage.ts
#      type-checked against them with tsc;
#   3. the breaking-change gate (specgate, oasdiff) against released/openapi.yaml,
#      and the gate's own tests.
# Everything it runs is installed from the project's files: package-lock.json
# through npm ci, and specgate/go.sum through the Go module proxy.
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

step "openapi-typescript openapi.yaml -> ts/schema.d.ts; tsc --noEmit"
"$bin/openapi-typescript" openapi.yaml --output ts/schema.d.ts
"$bin/tsc" --noEmit -p ts/tsconfig.json
echo "tsc: ts/usage.ts type-checks against the generated types"

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
