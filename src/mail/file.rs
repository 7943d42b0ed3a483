//! The file transport: one `.eml` file per message in a private folder, for trying tete
//! out and for setups where another program picks the messages up.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::message::message_id_of;
use super::transport::{SendError, SendFuture, Transport};

/// Writes each message to `<dir>/<hash>.eml`, where the hash is the left part of its
/// deterministic Message-ID: sending the same brief twice rewrites one file.
#[derive(Clone, Debug)]
pub struct FileTransport {
    dir: PathBuf,
}

impl FileTransport {
    /// A transport writing into `dir` (created with mode 0700 on first send if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileTransport { dir: dir.into() }
    }

    /// The folder messages go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The file name of a message: the hex part of tete's own Message-IDs, else a hash of
/// whatever Message-ID it has, else a hash of the message.
pub fn file_name(raw: &[u8]) -> String {
    let id = message_id_of(raw);
    let left = id
        .as_deref()
        .and_then(|id| id.trim_start_matches('<').split('@').next())
        .filter(|left| left.len() == 64 && left.bytes().all(|b| b.is_ascii_hexdigit()));
    let stem = match (left, &id) {
        (Some(left), _) => left.to_ascii_lowercase(),
        (None, Some(id)) => hex(&Sha256::digest(id.as_bytes())),
        (None, None) => hex(&Sha256::digest(raw)),
    };
    format!("{stem}.eml")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `raw` to `dir/name` atomically: a private temp file, synced, then renamed, so
/// a reader never sees half a message.
fn write_atomically(dir: &Path, name: &str, raw: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(raw)?;
        file.sync_all()?;
        std::fs::rename(&temp, dir.join(name))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

impl Transport for FileTransport {
    fn send<'a>(&'a self, _envelope_to: &'a str, raw: &'a [u8]) -> SendFuture<'a> {
        Box::pin(async move {
            let dir = self.dir.clone();
            let raw = raw.to_vec();
            let name = file_name(&raw);
            tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &raw))
                .await
                .map_err(|e| SendError::Transient(format!("file writer stopped: {e}")))?
                // A full disk or a permission problem may be fixed before the meeting.
                .map_err(|e| SendError::Transient(format!("cannot write message file: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_is_named_after_the_message_id_hash() {
        let digest = "ab".repeat(32);
        let raw = format!("From: a@b\r\nMessage-ID: <{digest}@example.com>\r\n\r\nhi\r\n");
        assert_eq!(file_name(raw.as_bytes()), format!("{digest}.eml"));
        let other = file_name(b"Message-ID: <x@y>\r\n\r\nhi");
        assert_eq!(other.len(), 64 + 4);
        assert_ne!(file_name(b"\r\nno headers"), other);
    }

    #[tokio::test]
    async fn message_is_written_into_a_private_folder() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("briefs");
        let transport = FileTransport::new(&out);
        let raw = b"Message-ID: <x@y>\r\n\r\nhi\r\n";
        transport.send("dana@example.com", raw).await.unwrap();
        transport.send("dana@example.com", raw).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(std::fs::read(&files[0]).unwrap(), raw);
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
