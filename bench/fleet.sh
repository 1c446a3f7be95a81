#!/usr/bin/env bash
# The fleet and failure runs of bench/run.sh: 4 processes of bench/fleet,
# 16 workers each, against one `leadway fake` (sliding window, 100 per 1s),
# sharing the budget through a redis-server started here, then each on its
# own limiter; then the shared run again with Redis killed and restarted
# mid-run. Prints key=value lines for run.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install -y redis-server" >&2; exit 1; }

tmp=$(mktemp -d)
fake_pid="" redis_pid=""
cleanup() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
	[ -n "$redis_pid" ] && kill -9 "$redis_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/leadway" ./cmd/leadway
go build -o "$tmp/fleet" ./bench/fleet

procs=4 workers=16 max=100

free_port() {
	local p
	for p in $(shuf -i 10000-32000 -n 100); do # below the ephemeral range
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
	done
	echo "no free port" >&2; exit 1
}

redis_port=$(free_port)
start_redis() {
	redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" --logfile "$tmp/redis.log" &
	redis_pid=$!
	for _ in $(seq 100); do
		[ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && return
		sleep 0.05
	done
	echo "redis-server did not start on port $redis_port:" >&2; tail -5 "$tmp/redis.log" >&2; exit 1
}
stop_redis() { kill -9 "$redis_pid"; wait "$redis_pid" 2>/dev/null || true; redis_pid=""; }

start_fake() {
	"$tmp/leadway" fake --addr 127.0.0.1:0 --quiet --window sliding --rate-max "$max" --rate-interval 1s > "$tmp/fake.out" 2>&1 &
	fake_pid=$!
	for _ in $(seq 100); do
		grep -q '^Token:' "$tmp/fake.out" 2>/dev/null && break
		sleep 0.05
	done
	url=$(awk '/listening on/ { print $NF; exit }' "$tmp/fake.out")
	token=$(awk '/^Token:/ { print $2; exit }' "$tmp/fake.out")
}
# stop_fake prints the 429s the fake answered.
stop_fake() {
	kill -INT "$fake_pid"; wait "$fake_pid" || true; fake_pid=""
	sed -n 's/.*, \([0-9]*\) rate limited).*/\1/p' "$tmp/fake.out"
}

# run_fleet NAME CALLS [REDIS]: starts the processes and waits for them.
run_fleet() {
	local name=$1 calls=$2 redis=${3:-} i
	local pids=()
	for i in $(seq "$procs"); do
		"$tmp/fleet" -url "$url" -token "$token" ${redis:+-redis "$redis"} -prefix "bench:$name:" \
			-workers "$workers" -calls "$calls" -max "$max" -interval 1s -share 0.25 \
			> "$tmp/$name-$i.out" 2> "$tmp/$name-$i.err" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
}

# report NAME: calls, errors and the steady share of the budget, from every
# process's completions, read as BenchmarkThroughput's steadyShare reads
# them: K windows' worth of calls over the time between the mean of the
# first window's calls and the mean of the K-th window's after them.
report() {
	local name=$1
	cat "$tmp/$name"-*.out | awk '$1 == "done" { print $2 }' | sort -n > "$tmp/$name.times"
	echo "${name}_calls=$(wc -l < "$tmp/$name.times")"
	echo "${name}_errors=$(cat "$tmp/$name"-*.out | awk '$1 == "summary" { sub("errors=", "", $3); s += $3 } END { print s + 0 }')"
	awk -v max="$max" '{ t[NR] = $1 } END {
		k = int(NR / max) - 1
		if (k < 1) { print "nan"; exit }
		for (i = 1; i <= max; i++) { first += t[i] - t[1]; last += t[k * max + i] - t[1] }
		span = (last - first) / max / 1e9
		printf "%.2f\n", 100 * k * max / span / max
	}' "$tmp/$name.times" | sed "s/^/${name}_share=/"
}

# The shared budget.
start_redis
start_fake
run_fleet shared 300 "127.0.0.1:$redis_port"
echo "shared_429=$(stop_fake)"
report shared
echo "shared_fell_back=$(cat "$tmp"/shared-*.out | grep -c '^down ' || true)"

# Each process on its own default limiter.
start_fake
run_fleet alone 300
echo "alone_429=$(stop_fake)"
report alone

# Redis killed mid-run and restarted.
kill_after=3 down_for=3
echo "fail_kill_after=$kill_after"
echo "fail_down_for=$down_for"
start_fake
run_fleet fail 500 "127.0.0.1:$redis_port" &
fleet_pid=$!
sleep "$kill_after"
stop_redis
sleep "$down_for"
restart=$(date +%s%N)
start_redis
wait "$fleet_pid"
echo "fail_429=$(stop_fake)"
report fail
echo "fail_fell_back=$(grep -l '^down ' "$tmp"/fail-*.out | wc -l)"
# The last process back on Redis after the restart.
echo "fail_recover_ms=$(cat "$tmp"/fail-*.out | awk -v r="$restart" '$1 == "back" && $2 >= r { if ($2 > m) m = $2 } END { if (m) printf "%.0f\n", (m - r) / 1e6; else print "never" }')"
stop_redis
