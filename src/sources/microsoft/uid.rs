//! The series-wide iCalendar UID of a Graph event.
//!
//! Graph v1.0's `iCalUId` is the hex form of Exchange's Global Object ID (MS-OXOCAL
//! `PidLidGlobalObjectId`), which embeds the instance date of an occurrence and so
//! differs per occurrence. The *clean* form (instance date zeroed) is what Exchange
//! sends as `UID` in invitations, and a meeting created elsewhere (Google, an .ics)
//! carries the foreign UID inside the id after a `vCal-Uid` marker. Decoding both
//! gives the UID the other participant's calendar shows, so the same 1:1 seen through
//! a Google and a Microsoft account groups into one series.

/// The 16-byte class id every Global Object ID starts with.
const CLASS_ID: [u8; 16] = [
    0x04, 0x00, 0x00, 0x00, 0x82, 0x00, 0xE0, 0x00, 0x74, 0xC5, 0xB7, 0x10, 0x1A, 0x82, 0xE0, 0x08,
];
/// Class id, instance date (4), creation time (8), reserved (8), data size (4).
const HEADER_LEN: usize = 16 + 4 + 8 + 8 + 4;
/// `vCal-Uid` followed by the little-endian version 1.
const VCAL_MARKER: &[u8] = b"vCal-Uid\x01\x00\x00\x00";

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// The series-wide UID for an `iCalUId` value: the embedded foreign UID when there is
/// one, else the clean Global Object ID in upper-case hex. Anything that is not a
/// Global Object ID is returned unchanged.
pub fn series_uid(ical_uid: &str) -> String {
    let trimmed = ical_uid.trim();
    let Some(mut bytes) = decode_hex(trimmed) else {
        return trimmed.to_string();
    };
    if bytes.len() < HEADER_LEN || bytes[..16] != CLASS_ID {
        return trimmed.to_string();
    }
    let size = u32::from_le_bytes([bytes[36], bytes[37], bytes[38], bytes[39]]) as usize;
    let data = bytes.get(HEADER_LEN..HEADER_LEN.saturating_add(size));
    if let Some(rest) = data.and_then(|d| d.strip_prefix(VCAL_MARKER)) {
        let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
        if let Ok(uid) = std::str::from_utf8(&rest[..end])
            && !uid.trim().is_empty()
        {
            return uid.trim().to_string();
        }
    }
    // Zero the instance date (year high, year low, month, day): the clean form.
    for byte in &mut bytes[16..20] {
        *byte = 0;
    }
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "040000008200E00074C5B7101A82E00800000000824DDB122F0AD301000000000000000010000000824A8905B038D54AA7735F117B3442ED";

    #[test]
    fn a_master_uid_is_its_own_series_uid() {
        assert_eq!(series_uid(MASTER), MASTER);
    }

    #[test]
    fn an_occurrence_uid_loses_its_instance_date() {
        let occurrence = MASTER.replacen("00000000824DDB", "07E80110824DDB", 1);
        assert_ne!(occurrence, MASTER);
        assert_eq!(series_uid(&occurrence.to_lowercase()), MASTER);
    }

    #[test]
    fn a_foreign_uid_is_unwrapped_from_vcal_uid() {
        let uid = "abc123@google.com";
        let mut data = VCAL_MARKER.to_vec();
        data.extend_from_slice(uid.as_bytes());
        data.push(0);
        let mut bytes = CLASS_ID.to_vec();
        bytes.extend_from_slice(&[0x07, 0xE8, 0x01, 0x10]);
        bytes.extend_from_slice(&[0; 16]);
        bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&data);
        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(series_uid(&hex), uid);
    }

    #[test]
    fn other_uids_pass_through() {
        assert_eq!(
            series_uid(" plain-uid@example.com "),
            "plain-uid@example.com"
        );
        assert_eq!(series_uid("0400"), "0400");
    }
}
