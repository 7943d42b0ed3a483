//! Which pair of people a series' context belongs to.
//!
//! A series is known by its UID, but its context (items, notes, history, skips) belongs
//! to the two people who met in it: when the organizer edits the weekly 1:1 with Dana
//! so that Eve attends instead, Eve must not see Dana's items or notes. The first pair
//! seen in a series keeps the series' own id as its context id (so stores written before
//! pairs were recorded keep every item id); any other pair gets an id derived from the
//! series and the pair ([`SeriesId::for_pair`]). A pair that comes back finds its
//! context again.

use super::{Store, StoreError, decode, encode};
use crate::model::{Pair, SeriesId};

impl Store {
    /// The id under which `series` keeps the context of `pair`, recording `pair` as
    /// the series' first pair when it has none yet.
    pub fn context_id(&self, series: &SeriesId, pair: &Pair) -> Result<SeriesId, StoreError> {
        let key = series.0.as_bytes();
        let first = match self.trees.bindings.get(key)? {
            Some(bytes) => decode::<Pair>("bindings", &bytes)?,
            None => {
                let value = encode("bindings", pair)?;
                match self.trees.bindings.compare_and_swap(
                    key,
                    None as Option<&[u8]>,
                    Some(value),
                )? {
                    Ok(()) => pair.clone(),
                    // Bound meanwhile by another caller: that pair is the first.
                    Err(conflict) => match conflict.current {
                        Some(bytes) => decode("bindings", &bytes)?,
                        None => pair.clone(),
                    },
                }
            }
        };
        Ok(if first == *pair {
            series.clone()
        } else {
            series.for_pair(pair)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Person;
    use crate::store::StoreOptions;

    fn pair(a: &str, b: &str) -> Pair {
        let person = |email: &str| Person {
            email: email.into(),
            name: None,
        };
        Pair::of(&[person(a), person(b)]).unwrap()
    }

    #[test]
    fn the_first_pair_keeps_the_series_id_and_another_pair_gets_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        let series = SeriesId::from_uid("weekly@example.com");
        let dana = pair("alex@example.com", "dana@example.com");
        let eve = pair("eve@example.com", "alex@example.com");
        assert_eq!(store.context_id(&series, &dana).unwrap(), series);
        let eves = store.context_id(&series, &eve).unwrap();
        assert_ne!(eves, series);
        assert_eq!(store.context_id(&series, &eve).unwrap(), eves, "stable");
        assert_eq!(
            store.context_id(&series, &dana).unwrap(),
            series,
            "the old pair finds its context again"
        );
    }
}
