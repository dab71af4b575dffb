//! The photo store: content-addressed files on disk (by sha-256), one copy of
//! each photo however often it is sent, plus its derivatives. Files are written
//! to a temporary name on the same filesystem, synced, then renamed into place,
//! so a crash never leaves a half-written photo under its final name.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The stored variants of a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The bytes the phone sent.
    Original,
    /// JPEG, ≈ 320 px.
    Thumbnail,
    /// JPEG, ≈ 1280 px.
    Review,
    /// The local-comparison fingerprint.
    Signature,
}

impl Variant {
    fn suffix(self) -> &'static str {
        match self {
            Variant::Original => "orig",
            Variant::Thumbnail => "thumb.jpg",
            Variant::Review => "review.jpg",
            Variant::Signature => "sig",
        }
    }
}

/// The store under `DATA_DIR/photos`, with uploads staged in `DATA_DIR/tmp`.
#[derive(Debug, Clone)]
pub struct PhotoStore {
    root: PathBuf,
    tmp: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl PhotoStore {
    /// Opens (creating) the store; leftovers of uploads cut off by a crash are removed.
    pub fn open(data_dir: &Path) -> std::io::Result<PhotoStore> {
        let root = data_dir.join("photos");
        let tmp = data_dir.join("tmp");
        std::fs::create_dir_all(&root)?;
        if tmp.exists() {
            for entry in std::fs::read_dir(&tmp)?.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        std::fs::create_dir_all(&tmp)?;
        Ok(PhotoStore { root, tmp })
    }

    /// A new, empty staging file.
    pub fn temp_file(&self) -> std::io::Result<(PathBuf, File)> {
        let name = format!(
            "upload-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            crate::auth::tokens::random_hex(6)
        );
        let path = self.tmp.join(name);
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok((path, file))
    }

    /// Where a variant of a photo lives.
    pub fn path(&self, sha256: &str, variant: Variant) -> PathBuf {
        let (a, b) = (
            sha256.get(0..2).unwrap_or("xx"),
            sha256.get(2..4).unwrap_or("xx"),
        );
        self.root
            .join(a)
            .join(b)
            .join(format!("{sha256}.{}", variant.suffix()))
    }

    /// Whether the original is stored.
    pub fn contains(&self, sha256: &str) -> bool {
        self.path(sha256, Variant::Original).exists()
    }

    /// Moves a synced staging file into place as the original (or drops it when
    /// the same photo is already stored).
    pub fn adopt(&self, staged: &Path, sha256: &str) -> std::io::Result<()> {
        let target = self.path(sha256, Variant::Original);
        if target.exists() {
            return std::fs::remove_file(staged);
        }
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(staged, &target)
    }

    /// Writes a derivative atomically.
    pub fn put(&self, sha256: &str, variant: Variant, bytes: &[u8]) -> std::io::Result<()> {
        let target = self.path(sha256, variant);
        if target.exists() {
            return Ok(());
        }
        let (staged, mut file) = self.temp_file()?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(staged, target)
    }

    /// Reads a variant.
    pub fn read(&self, sha256: &str, variant: Variant) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.path(sha256, variant))
    }

    /// The sha-256 of every stored original.
    pub fn originals(&self) -> std::io::Result<Vec<String>> {
        let mut found = Vec::new();
        let suffix = format!(".{}", Variant::Original.suffix());
        for level1 in std::fs::read_dir(&self.root)?.flatten() {
            for level2 in std::fs::read_dir(level1.path())?.flatten() {
                for file in std::fs::read_dir(level2.path())?.flatten() {
                    let name = file.file_name().to_string_lossy().to_string();
                    if let Some(sha) = name.strip_suffix(&suffix) {
                        found.push(sha.to_string());
                    }
                }
            }
        }
        Ok(found)
    }

    /// Removes a photo with its derivatives.
    pub fn remove(&self, sha256: &str) -> std::io::Result<()> {
        for variant in [
            Variant::Thumbnail,
            Variant::Review,
            Variant::Signature,
            Variant::Original,
        ] {
            match std::fs::remove_file(self.path(sha256, variant)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_stored_once_by_hash_and_staging_is_swept() {
        let dir = std::env::temp_dir().join(format!(
            "camket-store-{}",
            crate::auth::tokens::random_hex(4)
        ));
        let store = PhotoStore::open(&dir).expect("open");
        let (staged, mut file) = store.temp_file().expect("temp");
        file.write_all(b"bytes").expect("write");
        store.adopt(&staged, "abcdef").expect("adopt");
        assert!(store.contains("abcdef"));
        assert_eq!(
            store.read("abcdef", Variant::Original).expect("read"),
            b"bytes"
        );
        let (again, _) = store.temp_file().expect("temp");
        store.adopt(&again, "abcdef").expect("adopt twice");
        assert!(!again.exists());
        let (leftover, _) = store.temp_file().expect("temp");
        let reopened = PhotoStore::open(&dir).expect("reopen");
        assert!(!leftover.exists(), "staging is swept at start");
        assert!(reopened.contains("abcdef"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
