#!/usr/bin/env bash
# Checks what `make check` needs before it runs anything, so that a machine
# missing a tool fails in seconds with one message naming what to install,
# rather than after the race-tested suite.
#
# To add a prerequisite, write a check_NAME function that returns non-zero
# and calls `missing "what to install"` when it is absent, and add NAME to
# CHECKS below.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CHECKS=(go cc node npm redis curl)

problems=()
missing() { problems+=("$1"); }

# version_ge A B: whether dotted version A >= B.
version_ge() {
	[[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]
}

check_go() {
	local want have
	want="$(sed -n 's/^go \([0-9.]*\)$/\1/p' go.mod)"
	if ! command -v go >/dev/null 2>&1; then
		missing "Go $want or later (https://go.dev/dl/)"
		return 1
	fi
	have="$(go env GOVERSION 2>/dev/null)"
	have="${have#go}"
	if ! version_ge "$have" "$want"; then
		missing "Go $want or later (https://go.dev/dl/); found $have"
		return 1
	fi
}

# The race detector (go test -race) needs cgo and a working C compiler.
check_cc() {
	command -v go >/dev/null 2>&1 || return 0 # reported by check_go
	local cc
	cc="$(go env CC)"
	# Go turns cgo off by itself when it finds no C compiler.
	if [[ "${CGO_ENABLED:-}" == 0 ]]; then
		missing "cgo for go test -race: unset CGO_ENABLED=0"
		return 1
	fi
	if ! command -v "${cc%% *}" >/dev/null 2>&1 ||
		! printf 'int main(void) { return 0; }\n' | $cc -x c -o /dev/null - >/dev/null 2>&1; then
		missing "a C compiler ($cc) for go test -race (Debian: apt-get install gcc)"
		return 1
	fi
}

# Redocly CLI's engines field (api/package-lock.json) accepts Node
# ^20.19.0 or >=22.12.0; Spectral accepts a superset of that.
check_node() {
	local have
	if ! command -v node >/dev/null 2>&1; then
		missing "Node.js 20.19+ or 22.12+ with npm, for make spec-check (https://nodejs.org/)"
		return 1
	fi
	have="$(node --version)"
	have="${have#v}"
	if ! { { version_ge "$have" 20.19.0 && ! version_ge "$have" 21.0.0; } || version_ge "$have" 22.12.0; }; then
		missing "Node.js 20.19+ or 22.12+, for make spec-check (https://nodejs.org/); found $have"
		return 1
	fi
}

check_npm() {
	command -v node >/dev/null 2>&1 || return 0 # reported by check_node
	if ! command -v npm >/dev/null 2>&1; then
		missing "npm, which comes with Node.js (Debian: apt-get install npm)"
		return 1
	fi
}

# The shared limiter's tests (redislimit) start a real redis-server. As root
# on Debian, as in CI, it is installed; anywhere else it is named.
check_redis() {
	command -v redis-server >/dev/null 2>&1 && return 0
	if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		echo "prereqs: installing redis-server for the shared limiter's tests"
		if { apt-get update -qq && apt-get install -y -qq redis-server; } >/dev/null 2>&1 &&
			command -v redis-server >/dev/null 2>&1; then
			return 0
		fi
	fi
	missing "redis-server, for the shared limiter's tests (Debian: apt-get install redis-server)"
	return 1
}

# The docs check runs the guides' curl examples against leadway fake.
check_curl() {
	command -v curl >/dev/null 2>&1 && return 0
	if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		echo "prereqs: installing curl for the docs' shell examples"
		if { apt-get update -qq && apt-get install -y -qq curl; } >/dev/null 2>&1 &&
			command -v curl >/dev/null 2>&1; then
			return 0
		fi
	fi
	missing "curl, for the docs' shell examples (Debian: apt-get install curl)"
	return 1
}

for c in "${CHECKS[@]}"; do
	"check_$c"
done

if ((${#problems[@]} > 0)); then
	{
		echo "make check: install these first:"
		printf '  - %s\n' "${problems[@]}"
	} >&2
	exit 1
fi
echo "prereqs: go $(go env GOVERSION), C compiler $(go env CC), node $(node --version), npm $(npm --version), $(redis-server --version | cut -d' ' -f1-3), $(curl --version | head -n1 | cut -d' ' -f1-2)"
