//! Password hashing with argon2id (the crate's defaults: m = 19 MiB, t = 2, p = 1).
//! Both functions are CPU- and memory-heavy: call them inside `web::block`.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

/// Hashes a password to a PHC string with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

/// Checks a password against a stored PHC string; a malformed hash never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A fixed hash to verify against when the username is unknown, so that a wrong
/// username costs as much time as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("camket-decoy-password").unwrap_or_default())
}

/// Explains why a new password is unacceptable, if it is.
pub fn password_problem(password: &str) -> Option<&'static str> {
    if password.chars().count() < 8 {
        Some("must be at least 8 characters")
    } else if password.len() > 256 {
        Some("must be at most 256 bytes")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_same_password() {
        let hash = hash_password("đúng mật khẩu").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("đúng mật khẩu", &hash));
        assert!(!verify_password("sai mật khẩu", &hash));
        assert!(!verify_password("anything", "not a phc string"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(password_problem("1234567").is_some());
        assert!(password_problem("12345678").is_none());
    }
}
