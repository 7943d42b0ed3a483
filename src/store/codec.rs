//! Value encoding: a one-byte format tag, then JSON.
//!
//! The tag lets a later schema change the encoding of one tree without guessing; JSON
//! keeps values readable in an export and tolerant of added optional fields.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

/// The tag of the current encoding (JSON of the value's serde form).
const FORMAT_JSON_V1: u8 = 1;

/// Encodes a value for `tree`.
pub fn encode<T: Serialize>(tree: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    let mut bytes = vec![FORMAT_JSON_V1];
    serde_json::to_writer(&mut bytes, value).map_err(|e| StoreError::Corrupt {
        tree,
        reason: format!("cannot encode: {e}"),
    })?;
    Ok(bytes)
}

/// Decodes a value stored in `tree`.
pub fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&FORMAT_JSON_V1, json)) => {
            serde_json::from_slice(json).map_err(|e| StoreError::Corrupt {
                tree,
                reason: e.to_string(),
            })
        }
        Some((tag, _)) => Err(StoreError::Corrupt {
            tree,
            reason: format!("unknown value format {tag}"),
        }),
        None => Err(StoreError::Corrupt {
            tree,
            reason: "empty value".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_with_their_format_tag() {
        let bytes = encode("t", &vec!["a".to_string()]).unwrap();
        assert_eq!(bytes[0], FORMAT_JSON_V1);
        let back: Vec<String> = decode("t", &bytes).unwrap();
        assert_eq!(back, vec!["a".to_string()]);
    }

    #[test]
    fn unknown_format_tags_are_reported_not_guessed() {
        let error = decode::<String>("t", &[9, b'"', b'"']).unwrap_err();
        assert!(error.to_string().contains("unknown value format 9"));
        assert!(decode::<String>("t", &[]).is_err());
    }
}
