//! The photo store: content-addressed files on disk (by sha-256), one copy of
//! each photo however often it is sent, plus its derivatives. Files are written
//! to a temporary name on the same filesystem, synced, then renamed into place,
//! so a crash never leaves a half-written photo under its final name.
//! Directories are created 0700 and files 0600: only the server's user reads
//! the photos, whatever the umask.

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
    held: PathBuf,
}

/// How long the first parts of a split ODK Collect upload wait for the rest.
const HELD_FOR: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates a directory and its missing parents, readable only by their owner
/// (an existing directory is left as it is).
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

impl PhotoStore {
    /// Opens (creating) the store; leftovers of uploads cut off by a crash are removed.
    pub fn open(data_dir: &Path) -> std::io::Result<PhotoStore> {
        let root = data_dir.join("photos");
        let tmp = data_dir.join("tmp");
        create_private_dir(&root)?;
        if tmp.exists() {
            for entry in std::fs::read_dir(&tmp)?.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        create_private_dir(&tmp)?;
        let held = data_dir.join("held");
        create_private_dir(&held)?;
        for entry in std::fs::read_dir(&held)?.flatten() {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|at| at.elapsed().ok())
                .is_some_and(|age| age > HELD_FOR);
            if stale {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        Ok(PhotoStore { root, tmp, held })
    }

    /// Where the parts of one split upload wait for the rest (see `collect::held`).
    pub fn held_dir(&self, key: &str) -> PathBuf {
        self.held.join(key)
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
        let mut options = File::options();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path)?;
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
            create_private_dir(dir)?;
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
            create_private_dir(dir)?;
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

    #[cfg(unix)]
    #[test]
    fn stored_photos_are_private_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| {
            std::fs::metadata(path)
                .expect("metadata")
                .permissions()
                .mode()
                & 0o777
        };
        let dir = std::env::temp_dir()
            .join(format!(
                "camket-store-{}",
                crate::auth::tokens::random_hex(4)
            ))
            .join("data");
        // The unit tests run under the caller's umask (usually 022): the modes
        // below come from the store, not from the umask.
        let store = PhotoStore::open(&dir).expect("open");
        let (staged, mut file) = store.temp_file().expect("temp");
        file.write_all(b"bytes").expect("write");
        assert_eq!(mode(&staged), 0o600);
        store.adopt(&staged, "abcdef").expect("adopt");
        store
            .put("abcdef", Variant::Thumbnail, b"thumb")
            .expect("put");
        for path in [
            store.path("abcdef", Variant::Original),
            store.path("abcdef", Variant::Thumbnail),
        ] {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            for dir in path.ancestors().skip(1).take(3) {
                assert_eq!(mode(dir), 0o700, "{}", dir.display());
            }
        }
        assert_eq!(mode(&dir.join("tmp")), 0o700);
        if let Some(parent) = dir.parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
    }
}
