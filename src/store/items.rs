//! Action items, notes, history and skips of a series.
