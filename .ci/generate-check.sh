#!/usr/bin/env bash
# Fails when the generated code is stale: when regenerating from
# api/openapi.yaml and the oapi-codegen configs changes gen/ or
# leadwaytest/internal/fakeapi/. It compares with the files as they are on
# disk, not with the last commit, so a contributor who changed the spec and
# ran `make generate` passes before committing; uncommitted generated code
# is then only reported.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

GO="${GO:-go}"
dirs=(gen leadwaytest/internal/fakeapi leadwaytest/internal/fakeoauth) # fakeoauth: from api/oauth.yaml

before="$(mktemp -d)"
trap 'rm -rf "$before"' EXIT
for d in "${dirs[@]}"; do
	mkdir -p "$before/$d"
	cp -a "$d/." "$before/$d/"
done

"$GO" generate ./...

stale=0
for d in "${dirs[@]}"; do
	if ! diff -r "$before/$d" "$d" >/dev/null; then
		stale=1
		diff -r -q "$before/$d" "$d" >&2 || true
	fi
done
if ((stale)); then
	echo "generate-check: the generated code was stale for api/openapi.yaml and its configs;" >&2
	echo "it has now been regenerated: review it (git diff ${dirs[*]}) and commit it with the spec" >&2
	exit 1
fi

if [[ -n "$(git status --porcelain -- "${dirs[@]}" 2>/dev/null)" ]]; then
	echo "generate-check: generated code is up to date with the spec; it has uncommitted changes (commit them with the spec change):"
	git status --short -- "${dirs[@]}"
else
	echo "generate-check: generated code is up to date"
fi
