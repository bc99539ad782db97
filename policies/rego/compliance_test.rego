# Unit tests of the compliance policy against the shipped data.json: `infra/dev/opa.sh test policies/rego`.
package fillstream.compliance_test

import data.fillstream.compliance

# A normalized intent that passes every rule under data.json.
intent := {
	"intent_id": "t1",
	"account": "default",
	"strategy": "xs_v1",
	"labels": {"strategy": "xs_v1"},
	"env": "sim",
	"instrument_id": "BINANCE:BTCUSDT",
	"venues": ["BINANCE:BTCUSDT"],
	"base": "BTC",
	"quote": "USDT",
	"side": "BUY",
	"notional_usd": "10000",
}

with_fields(fields) := object.union(intent, fields)

codes(findings) := [f.code | some f in findings]

test_clean_intent_is_allowed if {
	compliance.decision == {"deny": [], "warn": [], "simulate": false} with input as intent
}

# --- (a) restricted instruments

# A strategy free to trade anything on KuCoin, so that only the restricted list can refuse it.
xmr := with_fields({"strategy": "mm_kucoin", "instrument_id": "KUCOIN:XMR-USDT", "venues": ["KUCOIN:XMR-USDT"], "base": "XMR"})

test_restricted_base_asset_is_denied if {
	d := compliance.decision with input as xmr
	d.deny == [{"code": "RESTRICTED_INSTRUMENT", "message": "base asset XMR is on the restricted list (data.fillstream.restricted)"}]
}

test_restricted_instrument_id_is_denied_on_any_candidate if {
	d := compliance.decision with input as with_fields({"strategy": "mm_kucoin", "instrument_id": "ETHBTC", "venues": ["BINANCE:ETHBTC"], "base": "ETH", "quote": "BTC"})
		with data.fillstream.strategies.mm_kucoin.venues as ["BINANCE"]
	d.deny == [{"code": "RESTRICTED_INSTRUMENT", "message": "instrument BINANCE:ETHBTC is on the restricted list (data.fillstream.restricted)"}]
}

test_restricted_list_ignores_case if {
	d := compliance.decision with input as with_fields({"base": "btc"}) with data.fillstream.restricted as ["Btc"]
	codes(d.deny) == ["RESTRICTED_INSTRUMENT"]
}

test_no_restricted_list_restricts_nothing if {
	d := compliance.decision with input as xmr with data.fillstream.restricted as []
	d.deny == []
}

# --- (b) strategy permissions

test_unlisted_strategy_is_denied if {
	d := compliance.decision with input as with_fields({"strategy": "rogue"})
	d.deny == [{"code": "STRATEGY_UNKNOWN", "message": "strategy rogue is not listed in data.fillstream.strategies"}]
}

test_venue_outside_the_strategy_permissions_is_denied if {
	d := compliance.decision with input as with_fields({"instrument_id": "KUCOIN:BTC-USDT", "venues": ["KUCOIN:BTC-USDT"]})
	d.deny == [{
		"code": "STRATEGY_NOT_PERMITTED",
		"message": "strategy xs_v1 may not trade KUCOIN:BTC-USDT (venues: BINANCE, OKX; instruments: BTC/USDT, ETH/USDT, BINANCE:SOLUSDT)",
	}]
}

test_one_forbidden_candidate_refuses_a_bare_symbol if {
	venues := ["BINANCE:BTCUSDT", "OKX:BTC-USDT", "KUCOIN:BTC-USDT"]
	d := compliance.decision with input as with_fields({"instrument_id": "BTCUSDT", "venues": venues})
	codes(d.deny) == ["STRATEGY_NOT_PERMITTED"]
	contains(d.deny[0].message, "may not trade KUCOIN:BTC-USDT (")
}

test_pair_outside_the_strategy_instruments_is_denied if {
	d := compliance.decision with input as with_fields({"instrument_id": "OKX:SOL-USDT", "venues": ["OKX:SOL-USDT"], "base": "SOL"})
	codes(d.deny) == ["STRATEGY_NOT_PERMITTED"]
}

test_instrument_listed_by_venue_id_is_allowed if {
	d := compliance.decision with input as with_fields({"instrument_id": "BINANCE:SOLUSDT", "venues": ["BINANCE:SOLUSDT"], "base": "SOL"})
	d.deny == []
}

test_listed_pair_is_allowed_on_every_permitted_venue if {
	d := compliance.decision with input as with_fields({"instrument_id": "ETHUSDT", "venues": ["BINANCE:ETHUSDT", "OKX:ETH-USDT"], "base": "ETH"})
	d.deny == []
}

test_strategy_without_instrument_list_trades_anything_on_its_venues if {
	d := compliance.decision with input as with_fields({"strategy": "mm_kucoin", "instrument_id": "KUCOIN:ETH-USDT", "venues": ["KUCOIN:ETH-USDT"], "base": "ETH"})
	d.deny == []
	e := compliance.decision with input as with_fields({"strategy": "mm_kucoin"})
	e.deny[0].message == "strategy mm_kucoin may not trade BINANCE:BTCUSDT (venues: KUCOIN; instruments: any)"
}

# --- (c) max order notional per account tier

test_notional_at_the_tier_limit_is_allowed if {
	d := compliance.decision with input as with_fields({"notional_usd": "25000"})
	d.deny == []
}

test_notional_above_the_tier_limit_is_denied_exactly if {
	# One part in 10^22 above the limit: beyond a float's precision, within a decimal's.
	d := compliance.decision with input as with_fields({"notional_usd": "25000.000000000000000001"})
	d.deny == [{"code": "TIER_MAX_ORDER_NOTIONAL", "message": "notional_usd 25000.000000000000000001 is above the retail tier's max_order_notional_usd 25000"}]
}

test_tier_label_selects_its_limit if {
	pro := compliance.decision with input as with_fields({"labels": {"tier": "pro"}, "notional_usd": "100000"})
	pro.deny == []
	retail := compliance.decision with input as with_fields({"notional_usd": "100000"})
	codes(retail.deny) == ["TIER_MAX_ORDER_NOTIONAL"]
}

test_unknown_tier_is_denied if {
	d := compliance.decision with input as with_fields({"labels": {"tier": "vip"}})
	d.deny == [{"code": "TIER_UNKNOWN", "message": "account tier \"vip\" has no max_order_notional_usd in data.fillstream.tiers"}]
}

test_no_tier_label_and_no_default_tier_is_denied if {
	d := compliance.decision with input as intent with data.fillstream.default_tier as null
	codes(d.deny) == ["TIER_UNKNOWN"]
}

test_limit_written_as_a_number_is_named_in_the_message if {
	d := compliance.decision with input as with_fields({"notional_usd": "30000"}) with data.fillstream.tiers.retail.max_order_notional_usd as 25000
	d.deny[0].message == "notional_usd 30000 is above the retail tier's max_order_notional_usd 25000"
}

# --- (d) warnings

test_large_non_core_order_warns_without_denying if {
	d := compliance.decision with input as with_fields({"instrument_id": "BINANCE:SOLUSDT", "venues": ["BINANCE:SOLUSDT"], "base": "SOL", "notional_usd": "10000.01"})
	d.deny == []
	d.warn == [{"code": "LARGE_NON_CORE", "message": "notional_usd 10000.01 in non-core asset SOL is above large_non_core_usd 10000"}]
}

test_non_core_order_at_the_threshold_does_not_warn if {
	d := compliance.decision with input as with_fields({"instrument_id": "BINANCE:SOLUSDT", "venues": ["BINANCE:SOLUSDT"], "base": "SOL", "notional_usd": "10000"})
	d.warn == []
}

test_large_core_order_does_not_warn if {
	d := compliance.decision with input as with_fields({"notional_usd": "20000"})
	d == {"deny": [], "warn": [], "simulate": false}
}

# --- (e) simulation only

test_paper_stage_routes_to_simulation if {
	d := compliance.decision with input as with_fields({"labels": {"strategy": "xs_v1", "stage": "paper"}})
	d == {"deny": [], "warn": [], "simulate": true}
}

test_other_stage_is_not_simulated if {
	d := compliance.decision with input as with_fields({"labels": {"stage": "live"}})
	d.simulate == false
}

# --- the verdict as a whole

test_findings_are_sorted_by_code if {
	d := compliance.decision with input as with_fields({"strategy": "rogue", "base": "XMR", "notional_usd": "30000"})
	codes(d.deny) == ["RESTRICTED_INSTRUMENT", "STRATEGY_UNKNOWN", "TIER_MAX_ORDER_NOTIONAL"]
}

test_incomplete_input_is_denied if {
	d := compliance.decision with input as object.remove(intent, ["notional_usd", "venues"])
	d.deny[0] == {"code": "INPUT_INCOMPLETE", "message": "input lacks venues, notional_usd (the rules read them)"}
}
