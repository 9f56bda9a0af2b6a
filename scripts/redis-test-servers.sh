# Sourced by scripts/test: private Redis servers for the Redis store's tests.
#
# start_redis_test_servers starts, on free local ports in a temporary
# directory, unless the variable is already set:
#   - one standalone server     -> PALISADE_TEST_REDIS_URL
#   - a 3-node Redis Cluster    -> PALISADE_TEST_REDIS_CLUSTER (comma-separated)
# stop_redis_test_servers kills exactly the processes it started (by pid).

redis_test_dir=""

# A port that nothing answers on, with its cluster bus port (+10000) free too.
redis_free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
            ! (exec 3<>"/dev/tcp/127.0.0.1/$((port + 10000))") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "scripts/test: no free port for redis-server" >&2
    return 1
}

# redis_start PORT [extra redis-server options...]: daemonized, pid file in
# the temp dir, waits until it answers PING.
redis_start() {
    local port=$1
    shift
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$redis_test_dir" --daemonize yes \
        --pidfile "$redis_test_dir/$port.pid" --logfile "$redis_test_dir/$port.log" "$@" >/dev/null
    for _ in $(seq 1 200); do
        if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = "PONG" ]; then
            return 0
        fi
        sleep 0.05
    done
    echo "scripts/test: redis-server on port $port did not start (log: $redis_test_dir/$port.log)" >&2
    return 1
}

stop_redis_test_servers() {
    [ -n "$redis_test_dir" ] && [ -d "$redis_test_dir" ] || return 0
    local pidfile pids=() pid
    for pidfile in "$redis_test_dir"/*.pid; do
        [ -f "$pidfile" ] && pids+=("$(cat "$pidfile")")
    done
    for pid in ${pids[@]+"${pids[@]}"}; do
        kill "$pid" 2>/dev/null || true
    done
    # Wait (up to 5 s) so nothing outlives the test run.
    local alive
    for _ in $(seq 1 100); do
        alive=0
        for pid in ${pids[@]+"${pids[@]}"}; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ "$alive" -eq 0 ] && break
        sleep 0.05
    done
    rm -rf "$redis_test_dir"
}

start_redis_test_servers() {
    if [ -n "${PALISADE_TEST_REDIS_URL:-}" ] && [ -n "${PALISADE_TEST_REDIS_CLUSTER:-}" ]; then
        return 0
    fi
    redis_test_dir=$(mktemp -d "${TMPDIR:-/tmp}/palisade-redis.XXXXXX")

    if [ -z "${PALISADE_TEST_REDIS_URL:-}" ]; then
        local port
        port=$(redis_free_port)
        redis_start "$port"
        export PALISADE_TEST_REDIS_URL="redis://127.0.0.1:$port"
    fi

    if [ -z "${PALISADE_TEST_REDIS_CLUSTER:-}" ]; then
        local ports=() nodes=() urls=() port
        for _ in 1 2 3; do
            port=$(redis_free_port)
            redis_start "$port" --cluster-enabled yes --cluster-config-file "nodes-$port.conf"
            ports+=("$port")
            nodes+=("127.0.0.1:$port")
            urls+=("redis://127.0.0.1:$port")
        done
        redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$redis_test_dir/create.log" 2>&1 || {
            cat "$redis_test_dir/create.log" >&2
            return 1
        }
        local ready
        for _ in $(seq 1 200); do
            ready=0
            for port in "${ports[@]}"; do
                if redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then
                    ready=$((ready + 1))
                fi
            done
            [ "$ready" -eq 3 ] && break
            sleep 0.05
        done
        if [ "$ready" -ne 3 ]; then
            echo "scripts/test: the local Redis Cluster did not reach cluster_state:ok" >&2
            return 1
        fi
        PALISADE_TEST_REDIS_CLUSTER=$(
            IFS=,
            echo "${urls[*]}"
        )
        export PALISADE_TEST_REDIS_CLUSTER
    fi
    echo "scripts/test: Redis for the tests: $PALISADE_TEST_REDIS_URL, cluster $PALISADE_TEST_REDIS_CLUSTER" >&2
}
