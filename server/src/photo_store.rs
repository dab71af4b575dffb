//! The photo store: content-addressed photos (by sha-256), one copy of each
//! photo however often it is sent, plus its derivatives. Two places can hold
//! them, chosen by `CAMKET_PHOTO_STORE`:
//!
//! - a local directory (the default, `DATA_DIR/photos`): files are written to a
//!   temporary name on the same filesystem (the directory's own `.staging`, or
//!   the upload's staging file when it is on the same filesystem), synced, then
//!   renamed into place, so a crash never leaves a half-written photo under its
//!   final name.
//!   Directories are created 0700 and files 0600: only the server's user reads
//!   the photos, whatever the umask;
//! - an S3-compatible bucket (`s3://bucket/prefix`, through `object_store`),
//!   for several instances behind a load balancer: a PUT is atomic, so an
//!   object is whole or absent.
//!
//! Either way, uploads are staged on local disk (`DATA_DIR/tmp`) and the parts
//! of split ODK Collect uploads wait in `DATA_DIR/held`; both are per instance,
//! and only `camket serve` empties them at start (`sweep_staging`).
//! The keys are the same in both places: `aa/bb/SHA.SUFFIX`. Objects carry
//! their media type and `Cache-Control: private, no-store`, so that a
//! presigned URL serves them as camket itself would.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use object_store::ObjectStore;

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
    /// Every variant, the original last (removed last, so that a half-done
    /// removal still lists the photo).
    pub const ALL: [Variant; 4] = [
        Variant::Thumbnail,
        Variant::Review,
        Variant::Signature,
        Variant::Original,
    ];

    fn suffix(self) -> &'static str {
        match self {
            Variant::Original => "orig",
            Variant::Thumbnail => "thumb.jpg",
            Variant::Review => "review.jpg",
            Variant::Signature => "sig",
        }
    }
}

/// Where the photos are kept (`CAMKET_PHOTO_STORE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// `file:///absolute/path`: a local directory.
    Directory(PathBuf),
    /// `s3://bucket/prefix`: a bucket of an S3-compatible store. The endpoint,
    /// region and credentials come from the environment as AWS tools name them
    /// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`; `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint).
    Bucket { bucket: String, prefix: String },
}

impl StoreLocation {
    /// Reads `file:///path` or `s3://bucket[/prefix]`.
    pub fn parse(text: &str) -> Result<StoreLocation, String> {
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "'{text}': a file:// photo store needs an absolute path (file:///srv/camket/photos)"
                ));
            }
            return Ok(StoreLocation::Directory(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("'{text}': no bucket named (s3://bucket/prefix)"));
            }
            return Ok(StoreLocation::Bucket {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        Err(format!(
            "'{text}' is not a photo store: use file:///path or s3://bucket/prefix"
        ))
    }

    /// The default: `DATA_DIR/photos`.
    pub fn default_for(data_dir: &Path) -> StoreLocation {
        StoreLocation::Directory(data_dir.join("photos"))
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Directory(path) => write!(f, "file://{}", path.display()),
            StoreLocation::Bucket { bucket, prefix } if prefix.is_empty() => {
                write!(f, "s3://{bucket}")
            }
            StoreLocation::Bucket { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// The store, with uploads staged in `DATA_DIR/tmp`.
#[derive(Debug, Clone)]
pub struct PhotoStore {
    objects: Objects,
    tmp: PathBuf,
    held: PathBuf,
}

#[derive(Debug, Clone)]
enum Objects {
    Directory(PathBuf),
    Bucket(Bucket),
}

#[derive(Debug, Clone)]
struct Bucket {
    store: Arc<object_store::aws::AmazonS3>,
    prefix: String,
}

/// A stored original as listed: its hash and when it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOriginal {
    pub sha256: String,
    pub written_at: DateTime<Utc>,
}

/// The original as a local file for the decoders: the stored file itself, or a
/// staged copy of the object that is removed when this is dropped.
#[derive(Debug)]
pub struct LocalOriginal {
    path: PathBuf,
    staged_copy: bool,
}

impl LocalOriginal {
    /// Where to read it.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LocalOriginal {
    fn drop(&mut self) {
        if self.staged_copy {
            let _ = std::fs::remove_file(&self.path);
        }
    }
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

/// The runtime that drives the object store's HTTP calls. The store's callers
/// are blocking threads (the request handlers' `web::block`, the photo
/// checkers, the command line), so they wait on this runtime rather than on
/// actix's per-worker ones.
fn object_runtime() -> std::io::Result<&'static tokio::runtime::Runtime> {
    // Built inside `get_or_init`: a second runtime built by a racing caller
    // would have to be dropped, which panics on an async thread.
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("photo-store")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| std::io::Error::other(format!("cannot start the photo store's runtime: {e}")))
}

fn object_error(error: object_store::Error) -> std::io::Error {
    match error {
        object_store::Error::NotFound { .. } => {
            std::io::Error::new(std::io::ErrorKind::NotFound, error.to_string())
        }
        other => std::io::Error::other(other.to_string()),
    }
}

impl Bucket {
    fn open(bucket: &str, prefix: &str) -> std::io::Result<Bucket> {
        // `from_env` reads AWS_ENDPOINT_URL (or AWS_ENDPOINT), AWS_REGION, the
        // keys and AWS_ALLOW_HTTP.
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| std::io::Error::other(format!("photo store s3://{bucket}: {e}")))?;
        Ok(Bucket {
            store: Arc::new(store),
            prefix: prefix.to_string(),
        })
    }

    fn key(&self, relative: &str) -> object_store::path::Path {
        if self.prefix.is_empty() {
            object_store::path::Path::from(relative)
        } else {
            object_store::path::Path::from(format!("{}/{relative}", self.prefix))
        }
    }

    /// Runs one call of the store to completion from blocking code (on a
    /// scoped thread when the caller is itself inside a runtime).
    fn wait<T: Send>(
        &self,
        call: impl std::future::Future<Output = Result<T, object_store::Error>> + Send,
    ) -> std::io::Result<T> {
        let runtime = object_runtime()?;
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|scope| {
                scope
                    .spawn(|| runtime.block_on(call))
                    .join()
                    .map_err(|_| std::io::Error::other("the photo store call panicked"))?
                    .map_err(object_error)
            })
        } else {
            runtime.block_on(call).map_err(object_error)
        }
    }

    fn exists(&self, relative: &str) -> std::io::Result<bool> {
        match self.wait(self.store.head(&self.key(relative))) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn put(&self, relative: &str, bytes: Vec<u8>, media_type: &'static str) -> std::io::Result<()> {
        use object_store::{Attribute, Attributes, PutOptions};
        let key = self.key(relative);
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, media_type.into());
        attributes.insert(Attribute::CacheControl, "private, no-store".into());
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        self.wait(self.store.put_opts(&key, bytes.into(), options))
            .map(|_| ())
    }

    fn get(&self, relative: &str) -> std::io::Result<Vec<u8>> {
        let key = self.key(relative);
        let store = self.store.clone();
        self.wait(async move {
            let found = store.get(&key).await?;
            Ok(found.bytes().await?.to_vec())
        })
    }

    fn delete(&self, relative: &str) -> std::io::Result<()> {
        match self.wait(self.store.delete(&self.key(relative))) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn list(&self) -> std::io::Result<Vec<(String, DateTime<Utc>)>> {
        use futures_util::StreamExt;
        let prefix = (!self.prefix.is_empty()).then(|| self.key(""));
        let store = self.store.clone();
        let skip = if self.prefix.is_empty() {
            0
        } else {
            self.prefix.len() + 1
        };
        self.wait(async move {
            let mut listing = store.list(prefix.as_ref());
            let mut found = Vec::new();
            while let Some(meta) = listing.next().await {
                let meta = meta?;
                let key = meta.location.to_string();
                found.push((
                    key.get(skip..).unwrap_or("").to_string(),
                    meta.last_modified,
                ));
            }
            Ok(found)
        })
    }

    fn signed_url(&self, relative: &str, ttl: std::time::Duration) -> std::io::Result<String> {
        use object_store::signer::Signer;
        let key = self.key(relative);
        self.wait(self.store.signed_url(http::Method::GET, &key, ttl))
            .map(|url| url.to_string())
    }
}

/// `aa/bb/SHA.SUFFIX`: where a variant lives, relative to the store's root.
fn relative_key(sha256: &str, variant: Variant) -> String {
    let (a, b) = (
        sha256.get(0..2).unwrap_or("xx"),
        sha256.get(2..4).unwrap_or("xx"),
    );
    format!("{a}/{b}/{sha256}.{}", variant.suffix())
}

/// The sha-256 in a key of an original (`aa/bb/SHA.orig`, as `relative_key`
/// writes it); anything else is not a photo of ours.
fn original_in_key(relative: &str) -> Option<&str> {
    let sha = relative.rsplit('/').next()?.strip_suffix(".orig")?;
    let ours = sha.len() == 64
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && relative.ends_with(&relative_key(sha, Variant::Original));
    ours.then_some(sha)
}

impl PhotoStore {
    /// Opens (creating) the default store under `DATA_DIR/photos` and sweeps
    /// the staging directories (see [`PhotoStore::sweep_staging`]).
    pub fn open(data_dir: &Path) -> std::io::Result<PhotoStore> {
        let store = PhotoStore::open_at(data_dir, &StoreLocation::default_for(data_dir))?;
        store.sweep_staging()?;
        Ok(store)
    }

    /// Opens the store at `location`, staging uploads under `data_dir`.
    pub fn open_at(data_dir: &Path, location: &StoreLocation) -> std::io::Result<PhotoStore> {
        let objects = match location {
            StoreLocation::Directory(root) => {
                create_private_dir(root)?;
                Objects::Directory(root.clone())
            }
            StoreLocation::Bucket { bucket, prefix } => {
                Objects::Bucket(Bucket::open(bucket, prefix)?)
            }
        };
        let tmp = data_dir.join("tmp");
        create_private_dir(&tmp)?;
        let held = data_dir.join("held");
        create_private_dir(&held)?;
        Ok(PhotoStore { objects, tmp, held })
    }

    /// Removes what uploads cut off by a crash left in the staging directories
    /// (and split ODK Collect uploads abandoned for a week). Only for
    /// `camket serve` at start: a command run beside a running server must not
    /// take the files of its uploads in flight.
    pub fn sweep_staging(&self) -> std::io::Result<()> {
        for entry in std::fs::read_dir(&self.tmp)?.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
        for entry in std::fs::read_dir(&self.held)?.flatten() {
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
        Ok(())
    }

    /// A bare directory of photos in the store's layout (a backup's copy).
    /// Nothing is created until something is written to it, so a backup on
    /// read-only media can be restored from.
    pub fn directory(root: &Path) -> PhotoStore {
        let staging = root.join(".staging");
        PhotoStore {
            objects: Objects::Directory(root.to_path_buf()),
            held: staging.clone(),
            tmp: staging,
        }
    }

    /// Whether the photos are in a bucket shared by several instances.
    pub fn is_shared(&self) -> bool {
        matches!(self.objects, Objects::Bucket(_))
    }

    /// Checks that the store takes a write (a bucket that is missing or
    /// refuses the credentials is found at start, not at the first upload).
    pub fn check_reachable(&self) -> std::io::Result<()> {
        match &self.objects {
            Objects::Directory(root) => std::fs::metadata(root).map(|_| ()),
            Objects::Bucket(bucket) => {
                // Write, ask for a key that is not there (a policy without
                // s3:ListBucket answers 403, and every upload would fail),
                // then remove.
                let probe = format!("probe/{}", crate::auth::tokens::random_hex(8));
                bucket.put(&probe, b"camket".to_vec(), "text/plain")?;
                bucket.exists(&format!("{probe}-absent"))?;
                bucket.delete(&probe)
            }
        }
    }

    /// Where the parts of one split upload wait for the rest (see `collect::held`).
    pub fn held_dir(&self, key: &str) -> PathBuf {
        self.held.join(key)
    }

    /// A new, empty staging file.
    pub fn temp_file(&self) -> std::io::Result<(PathBuf, File)> {
        temp_file_in(&self.tmp)
    }

    fn file_path(root: &Path, sha256: &str, variant: Variant) -> PathBuf {
        root.join(relative_key(sha256, variant))
    }
}

/// A new, empty file with a unique name in `dir` (created 0700 if missing),
/// readable only by its owner.
fn temp_file_in(dir: &Path) -> std::io::Result<(PathBuf, File)> {
    {
        create_private_dir(dir)?;
        let name = format!(
            "upload-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            crate::auth::tokens::random_hex(6)
        );
        let path = dir.join(name);
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
}

/// Moves `staged` to `target`; across filesystems (a `file://` store on
/// another disk than the data dir) by a synced copy in the store's own
/// staging directory, then a rename.
fn move_into_place(staged: &Path, target: &Path, store_staging: &Path) -> std::io::Result<()> {
    match std::fs::rename(staged, target) {
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            let (copy, mut file) = temp_file_in(store_staging)?;
            let mut source = File::open(staged)?;
            std::io::copy(&mut source, &mut file)?;
            file.sync_all()?;
            drop(file);
            std::fs::rename(&copy, target)?;
            std::fs::remove_file(staged)
        }
        other => other,
    }
}

/// The media type a stored object is served with: the original's from its
/// first bytes (as intake recognised it), fixed for the rest.
fn media_type(variant: Variant, bytes: &[u8]) -> &'static str {
    match variant {
        Variant::Thumbnail | Variant::Review => "image/jpeg",
        Variant::Signature => "application/octet-stream",
        Variant::Original => crate::evidence::photo::sniff(bytes)
            .map(|format| format.media_type())
            .unwrap_or("application/octet-stream"),
    }
}

impl PhotoStore {
    /// Whether the original is stored.
    pub fn contains(&self, sha256: &str) -> std::io::Result<bool> {
        match &self.objects {
            Objects::Directory(root) => {
                Ok(PhotoStore::file_path(root, sha256, Variant::Original).exists())
            }
            Objects::Bucket(bucket) => bucket.exists(&relative_key(sha256, Variant::Original)),
        }
    }

    /// Moves a synced staging file into place as the original (or drops it when
    /// the same photo is already stored).
    pub fn adopt(&self, staged: &Path, sha256: &str) -> std::io::Result<()> {
        match &self.objects {
            Objects::Directory(root) => {
                let target = PhotoStore::file_path(root, sha256, Variant::Original);
                if target.exists() {
                    return std::fs::remove_file(staged);
                }
                if let Some(dir) = target.parent() {
                    create_private_dir(dir)?;
                }
                move_into_place(staged, &target, &root.join(".staging"))
            }
            Objects::Bucket(bucket) => {
                let relative = relative_key(sha256, Variant::Original);
                if !bucket.exists(&relative)? {
                    let bytes = std::fs::read(staged)?;
                    let media_type = media_type(Variant::Original, &bytes);
                    bucket.put(&relative, bytes, media_type)?;
                }
                std::fs::remove_file(staged)
            }
        }
    }

    /// Writes a derivative atomically.
    pub fn put(&self, sha256: &str, variant: Variant, bytes: &[u8]) -> std::io::Result<()> {
        let root = match &self.objects {
            Objects::Directory(root) => root,
            Objects::Bucket(bucket) => {
                let media_type = media_type(variant, bytes);
                return bucket.put(&relative_key(sha256, variant), bytes.to_vec(), media_type);
            }
        };
        let target = PhotoStore::file_path(root, sha256, variant);
        if target.exists() {
            return Ok(());
        }
        let (staged, mut file) = temp_file_in(&root.join(".staging"))?;
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
        match &self.objects {
            Objects::Directory(root) => std::fs::read(PhotoStore::file_path(root, sha256, variant)),
            Objects::Bucket(bucket) => bucket.get(&relative_key(sha256, variant)),
        }
    }

    /// The original as a local file, for the decoders.
    pub fn local_original(&self, sha256: &str) -> std::io::Result<LocalOriginal> {
        match &self.objects {
            Objects::Directory(root) => Ok(LocalOriginal {
                path: PhotoStore::file_path(root, sha256, Variant::Original),
                staged_copy: false,
            }),
            Objects::Bucket(bucket) => {
                let bytes = bucket.get(&relative_key(sha256, Variant::Original))?;
                let (path, mut file) = self.temp_file()?;
                let copy = LocalOriginal {
                    path,
                    staged_copy: true,
                };
                file.write_all(&bytes)?;
                Ok(copy)
            }
        }
    }

    /// A short-lived URL from which the variant can be fetched without
    /// credentials, when the store can make one (a bucket; not a directory).
    pub fn signed_url(
        &self,
        sha256: &str,
        variant: Variant,
        ttl: std::time::Duration,
    ) -> Option<std::io::Result<String>> {
        match &self.objects {
            Objects::Directory(_) => None,
            Objects::Bucket(bucket) => Some(bucket.signed_url(&relative_key(sha256, variant), ttl)),
        }
    }

    /// Every stored original, with when it was written.
    pub fn originals(&self) -> std::io::Result<Vec<StoredOriginal>> {
        let mut found = Vec::new();
        match &self.objects {
            Objects::Directory(root) if !root.exists() => {}
            Objects::Directory(root) => {
                let subdirectories = |dir: &Path| -> std::io::Result<Vec<PathBuf>> {
                    Ok(std::fs::read_dir(dir)?
                        .flatten()
                        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
                        .map(|entry| entry.path())
                        .filter(|path| path.is_dir())
                        .collect())
                };
                for level1 in subdirectories(root)? {
                    for level2 in subdirectories(&level1)? {
                        for file in std::fs::read_dir(&level2)?.flatten() {
                            let relative = file
                                .path()
                                .strip_prefix(root)
                                .map(|p| p.to_string_lossy().into_owned())
                                .unwrap_or_default();
                            if let Some(sha) = original_in_key(&relative) {
                                let written_at = file
                                    .metadata()
                                    .and_then(|m| m.modified())
                                    .map(DateTime::<Utc>::from)
                                    .unwrap_or_else(|_| Utc::now());
                                found.push(StoredOriginal {
                                    sha256: sha.to_string(),
                                    written_at,
                                });
                            }
                        }
                    }
                }
            }
            Objects::Bucket(bucket) => {
                for (relative, written_at) in bucket.list()? {
                    if let Some(sha) = original_in_key(&relative) {
                        found.push(StoredOriginal {
                            sha256: sha.to_string(),
                            written_at,
                        });
                    }
                }
            }
        }
        Ok(found)
    }

    /// Removes a photo with its derivatives.
    pub fn remove(&self, sha256: &str) -> std::io::Result<()> {
        for variant in Variant::ALL {
            match &self.objects {
                Objects::Directory(root) => {
                    match std::fs::remove_file(PhotoStore::file_path(root, sha256, variant)) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                        _ => {}
                    }
                }
                Objects::Bucket(bucket) => bucket.delete(&relative_key(sha256, variant))?,
            }
        }
        Ok(())
    }

    /// Whether this store holds `variant` of the photo.
    pub fn holds(&self, sha256: &str, variant: Variant) -> std::io::Result<bool> {
        match &self.objects {
            Objects::Directory(root) => Ok(PhotoStore::file_path(root, sha256, variant).exists()),
            Objects::Bucket(bucket) => bucket.exists(&relative_key(sha256, variant)),
        }
    }

    /// Copies every variant of one photo from this store into `target` (both
    /// may be of either kind); what `target` already holds is left as it is,
    /// so that an interrupted copy resumes where it stopped. Returns how many
    /// objects were written.
    pub fn copy_photo_to(&self, sha256: &str, target: &PhotoStore) -> std::io::Result<usize> {
        let mut written = 0;
        // The original last: a photo whose original is in the target is whole there.
        for variant in Variant::ALL {
            if target.holds(sha256, variant)? {
                continue;
            }
            let bytes = match self.read(sha256, variant) {
                Ok(bytes) => bytes,
                // Derivatives are made by the background checks: not yet, or never for an unreadable photo.
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound && variant != Variant::Original =>
                {
                    continue
                }
                Err(e) => return Err(e),
            };
            target.put(sha256, variant, &bytes)?;
            written += 1;
        }
        Ok(written)
    }
    /// Copies every photo of this store into `target` (see
    /// [`PhotoStore::copy_photo_to`]), telling `progress` how far it is;
    /// returns (photos now in the target, files written). A photo removed
    /// from this store while the copy runs (an orphan swept) is skipped.
    pub fn copy_all_to(
        &self,
        target: &PhotoStore,
        mut progress: impl FnMut(usize, usize),
    ) -> std::io::Result<(usize, usize)> {
        let originals = self.originals()?;
        let (mut photos, mut written) = (0, 0);
        for (n, photo) in originals.iter().enumerate() {
            match self.copy_photo_to(&photo.sha256, target) {
                Ok(files) => {
                    written += files;
                    photos += 1;
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::NotFound
                        && !self.contains(&photo.sha256)? => {}
                Err(e) => {
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!("photo {}: {e}", photo.sha256),
                    ))
                }
            }
            progress(n + 1, originals.len());
        }
        Ok((photos, written))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sha-256 as the store names photos by.
    const SHA: &str = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";

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
        assert!(store.contains("abcdef").expect("contains"));
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
        assert!(reopened.contains("abcdef").expect("contains"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn photo_store_locations_are_read_from_their_urls() {
        assert_eq!(
            StoreLocation::parse("s3://camket/photos/").expect("s3"),
            StoreLocation::Bucket {
                bucket: "camket".into(),
                prefix: "photos".into()
            }
        );
        assert_eq!(
            StoreLocation::parse("s3://camket").expect("s3"),
            StoreLocation::Bucket {
                bucket: "camket".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            StoreLocation::parse("file:///srv/photos").expect("file"),
            StoreLocation::Directory(PathBuf::from("/srv/photos"))
        );
        for wrong in ["file://relative", "s3://", "/srv/photos", "gs://b/p"] {
            assert!(StoreLocation::parse(wrong).is_err(), "{wrong}");
        }
        let sha = "ab12".repeat(16);
        let key = relative_key(&sha, Variant::Original);
        assert_eq!(original_in_key(&key), Some(sha.as_str()));
        assert_eq!(
            original_in_key(&format!("prefix/{key}")),
            Some(sha.as_str())
        );
        assert_eq!(
            original_in_key(&relative_key(&sha, Variant::Thumbnail)),
            None
        );
        assert_eq!(original_in_key("ab/cd/abcd.orig"), None, "not a sha-256");
        assert_eq!(
            original_in_key(&format!("zz/zz/{sha}.orig")),
            None,
            "not where we put it"
        );
    }

    #[test]
    fn a_photo_is_copied_between_stores_once_and_whole() {
        let base = std::env::temp_dir().join(format!(
            "camket-copy-{}",
            crate::auth::tokens::random_hex(4)
        ));
        let from = PhotoStore::open(&base.join("a")).expect("open a");
        let to = PhotoStore::open(&base.join("b")).expect("open b");
        let (staged, mut file) = from.temp_file().expect("temp");
        file.write_all(b"original").expect("write");
        from.adopt(&staged, SHA).expect("adopt");
        from.put(SHA, Variant::Thumbnail, b"thumb").expect("put");
        // No review size nor signature yet: copied as they are.
        assert_eq!(from.copy_photo_to(SHA, &to).expect("copy"), 2);
        assert_eq!(to.read(SHA, Variant::Original).expect("read"), b"original");
        assert_eq!(to.read(SHA, Variant::Thumbnail).expect("read"), b"thumb");
        assert_eq!(
            from.copy_photo_to(SHA, &to).expect("again"),
            0,
            "resumes, not repeats"
        );
        let listed = to.originals().expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].sha256, SHA);
        // A backup's directory is made on the first write, and one that was
        // never made reads as empty (a backup of no photos restores).
        let backup = PhotoStore::directory(&base.join("backup").join("photos"));
        assert_eq!(
            from.copy_all_to(&backup, |_, _| {}).expect("backup"),
            (1, 2)
        );
        let nothing = PhotoStore::directory(&base.join("never-written"));
        assert_eq!(nothing.copy_all_to(&to, |_, _| {}).expect("empty"), (0, 0));
        assert!(
            !base.join("never-written").exists(),
            "reading creates nothing"
        );
        let _ = std::fs::remove_dir_all(base);
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
        store.adopt(&staged, SHA).expect("adopt");
        store.put(SHA, Variant::Thumbnail, b"thumb").expect("put");
        for path in [
            dir.join("photos")
                .join(relative_key(SHA, Variant::Original)),
            dir.join("photos")
                .join(relative_key(SHA, Variant::Thumbnail)),
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
