# Carebook. `make demo` builds the binary and shows it working on a demo
# practice; `make test` runs every test, the fuzz targets for a short while
# and end to end against a real Ollama included (what CI runs); `make bench`
# prints the benchmark table.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := ./carebook
DEMO_DB  ?= demo.duckdb
# Everything a database keeps beside it: removed with it, or the next run
# finds a head file that vouches for rows the new database does not have.
DEMO_FILES = $(DEMO_DB) $(DEMO_DB).wal $(DEMO_DB).audit-head $(DEMO_DB).lock
export CAREBOOK_NOW ?= 2026-06-15T10:00:00Z

.PHONY: build install test unit fuzz lint demo bench team-full eval e2e clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/carebook

# install puts carebook in $(go env GOBIN), else $(go env GOPATH)/bin.
install:
	$(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/carebook

test: lint unit fuzz e2e

unit:
	$(GO) test -count=1 ./...

# fuzz runs each fuzz target briefly, one line per target; the seed corpora
# also run in unit. Findings land in the package's testdata/fuzz: commit the
# input with the fix, and it stays a test.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzAction$$' -fuzztime 10s ./tools
	$(GO) test -run '^$$' -fuzz '^FuzzDates$$' -fuzztime 10s ./tools
	$(GO) test -run '^$$' -fuzz '^FuzzCheckURL$$' -fuzztime 10s ./guard
	$(GO) test -run '^$$' -fuzz '^FuzzImportPatients$$' -fuzztime 10s ./importer
	$(GO) test -run '^$$' -fuzz '^FuzzEscapeRoundTrip$$' -fuzztime 10s ./internal/csvsafe

lint:
	@fmt_out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$fmt_out" ]; then echo "gofmt would change:"; echo "$$fmt_out"; exit 1; fi
	$(GO) vet ./...

demo: build
	@rm -f $(DEMO_FILES)
	$(BIN) --db $(DEMO_DB) demo --patients 2000 --seed 1
	@echo; echo '$$ carebook tag list'
	@$(BIN) --db $(DEMO_DB) tag list
	@echo; echo '$$ carebook patients --tag vip --status active --limit 5'
	@$(BIN) --db $(DEMO_DB) patients --tag vip --status active --limit 5
	@echo; echo '$$ carebook show D000001'
	@$(BIN) --db $(DEMO_DB) show D000001
	@echo; echo '$$ carebook tag add recall-due D000001 --yes'
	@$(BIN) --db $(DEMO_DB) tag add recall-due D000001 --yes
	@echo; echo "Demo database: $(DEMO_DB). Try: $(BIN) --db $(DEMO_DB) --help"

# e2e builds Ollama v0.17.4 from the Go module proxy into .cache/ once, starts
# it on a free loopback port with a generated tiny model, and runs ./e2e.
e2e:
	e2e/ollama.sh build && e2e/ollama.sh run -- $(GO) test -tags e2e -count=1 ./e2e/

# bench builds a 100k-patient demo database once (bench/out, gitignored),
# runs the testing.B micro-benchmarks (benchstat-friendly, bench/out/bench.txt)
# and the driver, which prints the table; the model rows run against the e2e
# harness's real server (a tiny Qwen3 with the real tokenizer). Timings never
# fail `make test`. The prompt's Qwen3 token budgets (static prefix <= 1,200,
# request turn on the 100k demo <= 250) fail `make bench` when missed;
# PROMPT_BUDGET=report only reports them.
BENCH_DB := bench/out/demo-100k.duckdb
PROMPT_BUDGET ?= enforce
bench: build
	@mkdir -p bench/out
	@[ -f $(BENCH_DB) ] || $(BIN) --db $(BENCH_DB) demo --patients 100000 --seed 1
	$(GO) test -run '^$$' -bench . -benchtime 20x -count 1 ./bench | tee bench/out/bench.txt
	e2e/ollama.sh build && e2e/ollama.sh run -- $(GO) run ./bench/driver -bin $(BIN) -db $(BENCH_DB) -prompt-budget $(PROMPT_BUDGET)

# team-full runs the team load test at issue 12's size: four staff making
# 250 writes each through carebook serve, one reading in a loop, a
# 2,000-line batch and a forget, all at once (make test runs 4 x 60 and 500
# lines). About a minute on two cores.
team-full:
	CAREBOOK_TEAM_FULL=1 $(GO) test -count=1 -run '^TestTeamUnderLoad$$' -v ./cmd/carebook

# eval scores the gold actions on the dev set. The set and the fixture
# practice ship in eval/testdata, copied from shared/eval/dev.jsonl and
# shared/fixtures/clinic (their source; see eval/testdata/README.md), so a
# clean clone needs nothing beside it.
EVAL_CASES   ?= eval/testdata/dev.jsonl
EVAL_FIXTURE ?= eval/testdata/clinic
eval: build
	$(BIN) eval $(EVAL_CASES) --fixture $(EVAL_FIXTURE) --actions tools/testdata/dev_gold.jsonl

clean:
	rm -f $(BIN) $(DEMO_FILES)
