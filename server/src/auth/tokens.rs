//! Access tokens (short-lived HS256 JWTs) and refresh tokens (random, stored
//! only as their sha-256, rotated on every use).

use std::path::Path;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use camket_schema::domain::Role;
use sha2::{Digest, Sha256};

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string (JWT's `sub` is a string).
    pub sub: String,
    /// The login session the token belongs to.
    pub sid: String,
    /// The role at issue time (authorisation re-reads it from the database).
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

const ISSUER: &str = "camket";

/// Why an access token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the access token has expired; refresh it or log in again")]
    Expired,
    #[error("the access token is invalid")]
    Invalid,
}

/// The keys that sign and verify access tokens.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Derived from the same secret; makes phones' device tokens (see `collect::devices`).
    device_key: [u8; 32],
    /// Derived from the same secret; signs the web console's cookies and forms.
    console_key: [u8; 32],
}

impl JwtKeys {
    /// Keys from a shared secret.
    pub fn from_secret(secret: &[u8]) -> JwtKeys {
        let mut device_key = Sha256::new();
        device_key.update(b"camket device tokens\0");
        device_key.update(secret);
        let mut console_key = Sha256::new();
        console_key.update(b"camket console\0");
        console_key.update(secret);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            device_key: device_key.finalize().into(),
            console_key: console_key.finalize().into(),
        }
    }

    /// Reads the secret from `path`, creating a random one (mode 0600) on first start.
    pub fn load_or_create(path: &Path) -> std::io::Result<JwtKeys> {
        if let Ok(existing) = std::fs::read_to_string(path) {
            let trimmed = existing.trim();
            if trimmed.len() >= 32 {
                return Ok(JwtKeys::from_secret(trimmed.as_bytes()));
            }
        }
        let secret = random_hex(32);
        write_private(path, &secret)?;
        Ok(JwtKeys::from_secret(secret.as_bytes()))
    }

    /// The device token made from `nonce`: an HMAC-SHA256 under a key only the
    /// server holds, so the stored nonce and hash alone never give a token.
    pub fn device_token(&self, nonce: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.device_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(nonce.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn console_hmac(&self, purpose: &str, input: &str) -> hmac::Hmac<Sha256> {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.console_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(input.as_bytes());
        mac
    }

    /// The web console's signature of `input` for `purpose` (a session cookie,
    /// a form's anti-forgery token), as hex.
    pub fn console_mac(&self, purpose: &str, input: &str) -> String {
        use hmac::Mac;
        hex::encode(self.console_hmac(purpose, input).finalize().into_bytes())
    }

    /// Whether `presented` is [`console_mac`](Self::console_mac) of `input`,
    /// compared in constant time.
    pub fn console_mac_matches(&self, purpose: &str, input: &str, presented: &str) -> bool {
        use hmac::Mac;
        match hex::decode(presented) {
            Ok(bytes) => self
                .console_hmac(purpose, input)
                .verify_slice(&bytes)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// Signs an access token.
    pub fn issue(&self, claims: &Claims) -> Result<String, String> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| format!("signing failed: {e}"))
    }

    /// Verifies signature, issuer and expiry (no leeway: lifetimes are short on purpose).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

impl Claims {
    /// Claims for a user's session, valid for `ttl_secs` from now.
    pub fn new(user_id: i64, session_id: &str, role: Role, ttl_secs: u64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            role,
            iat: now,
            exp: now + i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2),
            iss: ISSUER.to_string(),
        }
    }
}

impl Claims {
    /// The user id the token was issued to.
    pub fn user_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }
}

/// `n` random bytes as hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new refresh token (what the client keeps).
pub fn new_refresh_token() -> String {
    random_hex(32)
}

/// What the server keeps of a secret token (a refresh token, a phone's device token).
pub fn secret_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_verifies_and_tampering_fails() {
        let keys = JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let token = keys
            .issue(&Claims::new(7, "s1", Role::Officer, 60))
            .expect("sign");
        let claims = keys.verify(&token).expect("verify");
        assert_eq!(claims.user_id(), Some(7));
        assert_eq!(claims.sid, "s1");
        let other = JwtKeys::from_secret(b"another secret another secret 12");
        assert_eq!(other.verify(&token).unwrap_err(), TokenError::Invalid);
        let mut tampered = token.clone();
        tampered.insert(tampered.len() / 2, 'x');
        assert_eq!(keys.verify(&tampered).unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn expired_token_is_reported_as_expired() {
        let keys = JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let mut claims = Claims::new(7, "s1", Role::Officer, 60);
        claims.exp = claims.iat - 10;
        let token = keys.issue(&claims).expect("sign");
        assert_eq!(keys.verify(&token).unwrap_err(), TokenError::Expired);
    }

    #[test]
    fn refresh_hash_is_stable_and_distinct() {
        let a = new_refresh_token();
        let b = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_ne!(secret_hash(&a), a);
    }
}
