#![no_main]
//! Structure-aware `.ics` fuzzing: calendars built from a grammar (fuzz/grammar/ics.rs),
//! rendered to text and fed to the same function as `ics_expand`.

#[path = "../logic.rs"]
mod logic;

#[path = "../grammar/ics.rs"]
mod grammar;

libfuzzer_sys::fuzz_target!(|calendar: grammar::Calendar| {
    logic::ics_expand(calendar.render().as_bytes())
});
