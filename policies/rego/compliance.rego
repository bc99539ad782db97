# Compliance rules the native risk checks (src/risk/) do not cover. fillstream compiles this
# package to WebAssembly and evaluates it for every intent; see docs/rego.md.
#
# input: the normalized intent (NormalizedIntent in src/domain/events.ts), e.g. strategy, labels,
#        instrument_id, venues (candidate VENUE:SYMBOL ids), base, quote, notional_usd (decimal string).
# data:  data.fillstream (policies/rego/data.json).
package fillstream.compliance

# The one entrypoint. Findings are sorted (by code, then message) so that the same intent gets the
# same verdict from the wasm build and from `opa test` alike.
decision := {
	"deny": sort(deny),
	"warn": sort(warn),
	"simulate": simulate,
}

finding(code, message) := {"code": code, "message": message}

# Money stays exact: decimal strings are compared as numbers, which OPA holds as decimals, not floats.
exceeds(value, limit) if to_number(value) > to_number(limit)

# Limits may be written as JSON numbers too; messages need them as text.
text(x) := x if is_string(x)

text(x) := json.marshal(x) if not is_string(x)

# An intent missing what the rules read would pass them all unseen: refuse it instead.
required := ["strategy", "labels", "instrument_id", "venues", "base", "quote", "notional_usd"]

deny contains finding("INPUT_INCOMPLETE", msg) if {
	missing := [f | some f in required; not input[f]]
	count(missing) > 0
	msg := concat("", ["input lacks ", concat(", ", missing), " (the rules read them)"])
}

# --- (e) paper-trading strategies reach the simulated venue only -----------------------------

default simulate := false

simulate if input.labels.stage == "paper"

# --- (a) restricted instruments: base assets (BTC) or venue instruments (BINANCE:BTCUSDT) -------

restricted := {upper(r) | some r in data.fillstream.restricted}

# What the intent could trade: the instrument it named and every venue instrument it may route to.
reachable contains upper(input.instrument_id)

reachable contains upper(v) if some v in input.venues

deny contains finding("RESTRICTED_INSTRUMENT", msg) if {
	upper(input.base) in restricted
	msg := concat("", ["base asset ", input.base, " is on the restricted list (data.fillstream.restricted)"])
}

deny contains finding("RESTRICTED_INSTRUMENT", msg) if {
	some id in reachable
	id in restricted
	msg := concat("", ["instrument ", id, " is on the restricted list (data.fillstream.restricted)"])
}

# --- (b) strategy permissions: only the venues (and, if listed, instruments) given for it ------

# Closed by default: a strategy compliance has not listed trades nowhere.
deny contains finding("STRATEGY_UNKNOWN", msg) if {
	not data.fillstream.strategies[input.strategy]
	msg := concat("", ["strategy ", input.strategy, " is not listed in data.fillstream.strategies"])
}

# Every candidate venue instrument must be permitted: this verdict cannot narrow the router's
# choice, so one forbidden candidate refuses the intent.
deny contains finding("STRATEGY_NOT_PERMITTED", msg) if {
	permissions := data.fillstream.strategies[input.strategy]
	refused := {v | some v in input.venues; not permitted(permissions, v)}
	count(refused) > 0
	msg := concat("", [
		"strategy ", input.strategy, " may not trade ", concat(", ", sort(refused)),
		" (venues: ", concat(", ", object.get(permissions, "venues", [])),
		"; instruments: ", instruments_text(permissions), ")",
	])
}

permitted(permissions, v) if {
	venue_permitted(permissions, v)
	instrument_permitted(permissions, v)
}

venue_permitted(permissions, v) if {
	some venue in permissions.venues
	startswith(upper(v), concat("", [upper(venue), ":"]))
}

# No instrument list: any instrument on the permitted venues.
instrument_permitted(permissions, _) if not permissions.instruments

# Listed as a pair (all venues) or as this venue instrument.
instrument_permitted(permissions, v) if {
	some listed in permissions.instruments
	upper(listed) in {upper(v), upper(concat("/", [input.base, input.quote]))}
}

instruments_text(permissions) := concat(", ", permissions.instruments) if permissions.instruments

instruments_text(permissions) := "any" if not permissions.instruments

# --- (c) max order notional in USD per account tier (the intent's `tier` label) ----------------

# Read key by key: data.fillstream also holds this package, so taking it whole would recurse.
default configured_tier := ""

configured_tier := t if {
	t := data.fillstream.default_tier
	is_string(t)
}

tier := object.get(input.labels, "tier", configured_tier)

deny contains finding("TIER_UNKNOWN", msg) if {
	not data.fillstream.tiers[tier].max_order_notional_usd
	msg := concat("", ["account tier \"", tier, "\" has no max_order_notional_usd in data.fillstream.tiers"])
}

deny contains finding("TIER_MAX_ORDER_NOTIONAL", msg) if {
	limit := data.fillstream.tiers[tier].max_order_notional_usd
	exceeds(input.notional_usd, limit)
	msg := concat("", ["notional_usd ", input.notional_usd, " is above the ", tier, " tier's max_order_notional_usd ", text(limit)])
}

# --- (d) a warning, not a denial: large orders outside the core assets ------------------------

core := {upper(a) | some a in data.fillstream.core_assets}

warn contains finding("LARGE_NON_CORE", msg) if {
	not upper(input.base) in core
	threshold := data.fillstream.large_non_core_usd
	exceeds(input.notional_usd, threshold)
	msg := concat("", ["notional_usd ", input.notional_usd, " in non-core asset ", input.base, " is above large_non_core_usd ", text(threshold)])
}
