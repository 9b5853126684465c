#!/usr/bin/env bash
# End-to-end harness: a real `ollama serve` (built from the Go module proxy)
# serving a tiny random-weight Qwen3 model that internal/tinymodel writes,
# with Qwen3's real tokenizer (fetched once by e2e/qwen3.sh) and chat template.
#
#   e2e/ollama.sh build          build ollama into .cache/ollama/bin and fetch
#                                Qwen3's tokenizer into .cache/qwen3 (once)
#   e2e/ollama.sh run -- CMD...  start a throwaway server, create the model
#                                "carebook-tiny", run CMD against it, stop it
#
# CMD sees CAREBOOK_OLLAMA_HOST, CAREBOOK_MODEL, OLLAMA_HOST,
# CAREBOOK_QWEN3_TOKENIZER and CAREBOOK_E2E_OLLAMA_LOG, the server's log. The
# server logs at debug level (OLLAMA_DEBUG=1: counts, lengths and the format
# schema, never prompt text), because only there does Ollama v0.17.4 say how
# much of a prompt it reused from its cache ("loading cache slot ... used=N
# remaining=M"): its prompt_eval_count counts the whole prompt either way.
# The server is always stopped, and the script exits with CMD's status.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OLLAMA_VERSION=v0.17.4
CACHE=${CAREBOOK_E2E_CACHE:-$ROOT/.cache/ollama}
BIN=$CACHE/bin/ollama
MODEL=carebook-tiny

log() { printf 'e2e/ollama.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# binary_ok: the cached binary runs and is the pinned version. OLLAMA_HOST
# points at a closed port so --version never talks to some other server.
binary_ok() {
	[ -x "$BIN" ] || return 1
	local out
	out=$(OLLAMA_HOST=127.0.0.1:9 "$BIN" --version 2>&1) || true
	[[ $out == *"client version is ${OLLAMA_VERSION#v}"* ]]
}

ensure_apt_deps() {
	local missing=()
	# The module zip drops llama.cpp/vendor/; Debian has two of its headers.
	[ -f /usr/include/nlohmann/json_fwd.hpp ] || missing+=(nlohmann-json3-dev)
	[ -f /usr/include/stb/stb_image.h ] || missing+=(libstb-dev)
	command -v g++ >/dev/null 2>&1 || missing+=(g++)
	command -v gcc >/dev/null 2>&1 || missing+=(gcc)
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]} with apt-get"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

# The third, miniaudio.h, comes from the Go module github.com/gen2brain/malgo,
# which carries it at its root.
ensure_miniaudio() {
	local hdr=$CACHE/include/miniaudio/miniaudio.h
	[ -s "$hdr" ] && return 0
	local dir
	# Run outside the carebook module so its go.mod/go.sum stay untouched.
	dir=$(cd "${TMPDIR:-/tmp}" && GOWORK=off go mod download -json github.com/gen2brain/malgo@latest |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p') || die "go mod download github.com/gen2brain/malgo failed"
	[ -n "$dir" ] && [ -f "$dir/miniaudio.h" ] || die "could not find miniaudio.h in github.com/gen2brain/malgo"
	mkdir -p "$(dirname "$hdr")"
	cp "$dir/miniaudio.h" "$hdr.tmp" && mv "$hdr.tmp" "$hdr"
}

# tokenizer fetches Qwen3's tokenizer.json once and prints its path.
tokenizer() {
	"$ROOT/e2e/qwen3.sh" fetch || die "could not fetch Qwen3's tokenizer"
}

cmd_build() {
	tokenizer >/dev/null
	if binary_ok; then
		log "ollama ${OLLAMA_VERSION} already built: $BIN"
		return 0
	fi
	mkdir -p "$CACHE/bin"
	ensure_apt_deps
	ensure_miniaudio
	log "building ollama ${OLLAMA_VERSION} into $BIN (~4-8 minutes cold on 2 cores)"
	local start=$SECONDS
	(
		cd "${TMPDIR:-/tmp}"
		GOWORK=off GOBIN="$CACHE/bin" CGO_ENABLED=1 \
			CGO_CFLAGS="-I$CACHE/include" CGO_CXXFLAGS="-I$CACHE/include" \
			go install -trimpath \
			-ldflags "-s -w -X github.com/ollama/ollama/version.Version=${OLLAMA_VERSION#v}" \
			"github.com/ollama/ollama@${OLLAMA_VERSION}"
	)
	binary_ok || die "built $BIN but its --version check failed"
	log "built in $((SECONDS - start))s"
}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
	local port i
	for i in $(seq 1 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	die "no free port found"
}

SERVER_PID=
WORK=
SERVER_LOG=

stop_server() {
	[ -n "$SERVER_PID" ] || return 0
	# setsid made the server a process-group leader: stop it with its runners.
	kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
	local i
	for i in $(seq 1 50); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
}

show_log() {
	[ -n "$SERVER_LOG" ] && [ -f "$SERVER_LOG" ] || return 0
	log "last lines of the ollama server log ($SERVER_LOG):"
	tail -n 40 "$SERVER_LOG" >&2 || true
}

on_exit() {
	local rc=$?
	stop_server
	if [ "$rc" -ne 0 ]; then
		show_log
	fi
	if [ -n "$WORK" ] && [ "${CAREBOOK_E2E_KEEP:-}" != 1 ]; then
		rm -rf "$WORK"
	fi
	exit "$rc"
}

server_up() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsS --max-time 2 "http://127.0.0.1:$1/api/version" >/dev/null 2>&1
	else
		OLLAMA_HOST=127.0.0.1:$1 "$BIN" list >/dev/null 2>&1
	fi
}

start_server() {
	local port attempt i
	for attempt in 1 2 3; do
		port=$(free_port)
		: >"$SERVER_LOG"
		# HOME is private so the server's key pair stays out of the real home.
		HOME=$WORK/home OLLAMA_HOST=127.0.0.1:$port OLLAMA_MODELS=$WORK/models \
			OLLAMA_NO_CLOUD=1 OLLAMA_KEEP_ALIVE=30m OLLAMA_DEBUG=1 \
			setsid "$BIN" serve >>"$SERVER_LOG" 2>&1 </dev/null &
		SERVER_PID=$!
		for i in $(seq 1 300); do
			if server_up "$port"; then
				PORT=$port
				return 0
			fi
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.2
		done
		log "ollama serve did not come up on port $port (attempt $attempt)"
		show_log
		stop_server
	done
	die "could not start ollama serve"
}

cmd_run() {
	[ "${1:-}" = "--" ] && shift
	[ $# -gt 0 ] || die "usage: $0 run -- CMD [ARGS...]"
	binary_ok || die "no usable ollama at $BIN: run '$0 build' first"
	CAREBOOK_QWEN3_TOKENIZER=$(tokenizer)
	export CAREBOOK_QWEN3_TOKENIZER

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/carebook-e2e.XXXXXX")
	mkdir -p "$WORK/home" "$WORK/models"
	SERVER_LOG=$WORK/ollama.log
	trap on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	start_server
	local host=http://127.0.0.1:$PORT
	log "ollama serve up at $host (log: $SERVER_LOG)"

	# Qwen3's vocabulary and merges, random weights, and a Modelfile with
	# Qwen3's ChatML template and a window (num_ctx 8192) that holds the
	# whole prompt, as qwen3:4b-instruct is served.
	(cd "$ROOT" && go run ./internal/tinymodel/cmd/tinymodel -o "$WORK/tiny.gguf" -modelfile "$WORK/Modelfile")
	(cd "$WORK" && HOME=$WORK/home OLLAMA_HOST=127.0.0.1:$PORT "$BIN" create "$MODEL" -f Modelfile >"$WORK/create.log" 2>&1) ||
		{ cat "$WORK/create.log" >&2; die "ollama create $MODEL failed"; }
	log "created model $MODEL"

	export CAREBOOK_E2E_OLLAMA_LOG=$SERVER_LOG
	export CAREBOOK_OLLAMA_HOST=$host
	export CAREBOOK_MODEL=$MODEL
	export OLLAMA_HOST=$host
	local rc=0
	"$@" || rc=$?
	if [ "$rc" -ne 0 ]; then
		log "command exited with status $rc"
	fi
	return "$rc"
}

case "${1:-}" in
build)
	shift
	cmd_build "$@"
	;;
run)
	shift
	cmd_run "$@"
	;;
*)
	echo "usage: $0 build | run -- CMD [ARGS...]" >&2
	exit 2
	;;
esac
