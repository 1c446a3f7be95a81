#!/usr/bin/env bash
# Runs the benchmarks side by side and writes BENCHMARKS.md: the machine, the
# Go version, benchstat's tables and each figure against its target.
# Usage: bash bench/run.sh   (from make bench; takes about five minutes)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

benchstat="go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"
count="${BENCH_COUNT:-8}"
raw=bench/results.txt

# BENCH_REPORT_ONLY=1 rewrites BENCHMARKS.md from the last results.
if [ -z "${BENCH_REPORT_ONLY:-}" ]; then
	echo "running per-call benchmarks (count=$count)..." >&2
	go test -run '^$' -bench 'Benchmark(Upsert(Loopback|InMemory)|Overhead)' -benchmem -benchtime 1s -count "$count" . > "$raw"
	echo "running throughput benchmarks..." >&2
	go test -run '^$' -bench 'BenchmarkThroughput' -benchtime 1000x -count 1 -timeout 30m . >> "$raw"
fi

# Mean of a metric per benchmark name (without the -N GOMAXPROCS suffix).
mean() { # $1 name regex, $2 unit
	awk -v re="$1" -v unit="$2" '
		$1 ~ re { for (i = 3; i < NF; i++) if ($(i+1) == unit) { s += $i; n++ } }
		END { if (n) printf "%.6g", s / n; else printf "nan" }' "$raw"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == "<=") ? v <= t : v >= t; print ok ? "met" : "missed" }'; }

row_pair() { # $1 benchmark, $2 ns target ratio, $3 allocs target ratio or "-"
	local base cli nsr bb bc ab ac ar
	base=$(mean "^Benchmark$1/impl=handwritten" ns/op); cli=$(mean "^Benchmark$1/impl=client" ns/op)
	bb=$(mean "^Benchmark$1/impl=handwritten" B/op); bc=$(mean "^Benchmark$1/impl=client" B/op)
	ab=$(mean "^Benchmark$1/impl=handwritten" allocs/op); ac=$(mean "^Benchmark$1/impl=client" allocs/op)
	nsr=$(ratio "$cli" "$base"); ar=$(ratio "$ac" "$ab")
	printf '| %s | ns/op | %s | %s | **%s×** | ≤ %s× | %s |\n' "$1" "$base" "$cli" "$nsr" "$2" "$(verdict "$nsr" "<=" "$2")"
	printf '| %s | B/op | %s | %s | %s× | | |\n' "$1" "$bb" "$bc" "$(ratio "$bc" "$bb")"
	if [ "$3" = "-" ]; then
		printf '| %s | allocs/op | %s | %s | %s× | | |\n' "$1" "$ab" "$ac" "$ar"
	else
		printf '| %s | allocs/op | %s | %s | **%s×** | ≤ %s× | %s |\n' "$1" "$ab" "$ac" "$ar" "$3" "$(verdict "$ar" "<=" "$3")"
	fi
}

row_tp() { # $1 limiter, $2 locations
	local re="^BenchmarkThroughput/limiter=$1/locations=$2-"
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" \
		"$(mean "$re" req/s)" "$(mean "$re" %budget)" "$(mean "$re" %429)" "$(mean "$re" errors)"
}

one=$(mean '^BenchmarkThroughput/limiter=on/locations=1-' req/s)
four=$(mean '^BenchmarkThroughput/limiter=on/locations=4-' req/s)
{
	echo "# Benchmarks"
	echo
	echo "Written by \`make bench\` ($(date -u +%Y-%m-%d)); raw output in [bench/results.txt](bench/results.txt), readable by benchstat."
	echo
	echo "- Machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(free -g | awk '/Mem:/ { print $2 }') GiB, $(uname -sr)"
	echo "- Go: $(go version | awk '{ print $3, $4 }')"
	echo "- Per-call benchmarks: mean of $count runs of 1s each, one goroutine. Throughput: 1000 upserts per run, 64 goroutines."
	echo
	echo "## Per call: the client against hand-written net/http"
	echo
	echo "The baseline marshals the same generated struct with encoding/json, sets the"
	echo "three headers, sends it with net/http and decodes the answer: no retries,"
	echo "rate limiting, body cap or typed errors. The client runs with default"
	echo "options (retries and the limiter on; the server's headers raise the limiter's"
	echo "budget so it never waits). Both share one server in one run."
	echo
	echo "| benchmark | metric | hand-written | client | ratio | target | |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	row_pair UpsertLoopback 1.05 1.10
	row_pair UpsertInMemory 1.3 -
	echo
	echo "(a) UpsertLoopback: a real HTTP/1.1 exchange over loopback with an httptest server. (b) UpsertInMemory: an in-memory RoundTripper, no sockets, so the client's own CPU cost shows."
	echo
	echo '```'
	$benchstat -col /impl <(grep -E '^(goos|goarch|pkg|cpu|BenchmarkUpsert)' "$raw") 2>/dev/null || true
	echo '```'
	echo
	echo "### Where the per-call gap goes"
	echo
	echo "BenchmarkOverhead measures the pieces one by one (mean of $count runs):"
	echo
	echo "| piece | ns/op | allocs/op |"
	echo "| --- | --- | --- |"
	for p in request-generated request-handwritten attempt-deadline; do
		printf '| %s | %s | %s |\n' "$p" "$(mean "^BenchmarkOverhead/piece=$p-" ns/op)" "$(mean "^BenchmarkOverhead/piece=$p-" allocs/op)"
	done
	echo
	echo "## (c) Throughput under the vendor's rate limit"
	echo
	echo "leadwaytest enforces 100 requests per second per location (the vendor's"
	echo "100 per 10 s, scaled). \`on\`: the client is given that budget"
	echo "(\`NewLimiter(100, time.Second)\`). \`adaptive\`: the default limiter, which"
	echo "starts at the vendor's 100 per 10 s and adopts the budget the first answers"
	echo "announce. \`off\`: \`WithoutRateLimiter()\`, so only 429s slow the client down."
	echo "Targets: at least 95% of the budget, at most 1% of requests answered 429, no"
	echo "errors returned to callers, and about 4× the throughput for 4 locations."
	echo
	echo "| limiter | locations | req/s | % of budget | % answered 429 | errors to callers |"
	echo "| --- | --- | --- | --- | --- | --- |"
	for l in on adaptive off; do for n in 1 4; do row_tp "$l" "$n"; done; done
	echo
	echo "4 locations against 1, limiter on: $(ratio "$four" "$one")× the throughput."
	if [ -f bench/NOTES.md ]; then echo; cat bench/NOTES.md; fi
} > BENCHMARKS.md
echo "wrote BENCHMARKS.md" >&2
