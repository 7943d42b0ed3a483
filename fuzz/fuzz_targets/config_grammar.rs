#![no_main]
//! Structure-aware config fuzzing: TOML built from the real schema's tables and keys
//! (fuzz/grammar/config.rs) with arbitrary values, fed to the same function as
//! `config_parse`.

#[path = "../logic.rs"]
mod logic;

#[path = "../grammar/config.rs"]
mod grammar;

libfuzzer_sys::fuzz_target!(|doc: grammar::Doc| logic::config_parse(doc.render().as_bytes()));
