//! Login throttling, in memory, in three keyed limiters:
//!
//! - per client address, every attempt, checked before the password is verified;
//! - per username *and* address, every attempt, also before verifying: one
//!   address guessing at one account gets no more tries than before;
//! - per username, wrong passwords only, after verifying: once an account has
//!   had too many wrong passwords a wrong one gets 429 instead of 401, while the
//!   right one, from an address not over its own limits, still logs in. Someone
//!   guessing a name can no longer lock its owner out.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// The login limiters.
pub struct LoginLimiter {
    per_user: DefaultKeyedRateLimiter<String>,
    per_user_and_address: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl LoginLimiter {
    /// Allows `per_user` wrong passwords per username (and `per_user` attempts per
    /// username from one address) and `per_address` attempts per address a
    /// minute (a burst of that size, refilled evenly).
    pub fn new(per_user: u32, per_address: u32) -> LoginLimiter {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        LoginLimiter {
            per_user: DefaultKeyedRateLimiter::keyed(quota(per_user)),
            per_user_and_address: DefaultKeyedRateLimiter::keyed(quota(per_user)),
            per_address: DefaultKeyedRateLimiter::keyed(quota(per_address)),
            clock: DefaultClock::default(),
        }
    }

    fn wait(
        &self,
        outcome: Result<(), governor::NotUntil<<DefaultClock as Clock>::Instant>>,
    ) -> Result<(), u64> {
        let now = self.clock.now();
        outcome.map_err(|not_until| not_until.wait_time_from(now).as_secs().max(1))
    }

    /// Records an attempt before its password is verified; `Err(seconds)` says
    /// how long to wait: the address, or this address for this username, is
    /// over its limit, and the password must not be looked at.
    pub fn before_verifying(&self, username: &str, address: &str) -> Result<(), u64> {
        self.wait(self.per_address.check_key(&address.to_string()))?;
        let pair = format!("{}\n{address}", username.to_lowercase());
        self.wait(self.per_user_and_address.check_key(&pair))?;
        if self.per_user_and_address.len() > 100_000 {
            self.per_user.retain_recent();
            self.per_user_and_address.retain_recent();
            self.per_address.retain_recent();
        }
        Ok(())
    }

    /// Records a wrong password (or an unknown or deactivated account);
    /// `Err(seconds)` when the username is over its limit: answer 429, not 401.
    pub fn after_wrong_password(&self, username: &str) -> Result<(), u64> {
        self.wait(self.per_user.check_key(&username.to_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One attempt as the login handler makes it; `Ok(true)` is a login.
    fn attempt(
        limiter: &LoginLimiter,
        user: &str,
        address: &str,
        right: bool,
    ) -> Result<bool, u64> {
        limiter.before_verifying(user, address)?;
        if right {
            return Ok(true);
        }
        limiter.after_wrong_password(user)?;
        Ok(false)
    }

    #[test]
    fn wrong_passwords_beyond_the_limit_are_refused_for_that_user_only() {
        let limiter = LoginLimiter::new(5, 100);
        for i in 0..5 {
            let address = format!("10.0.0.{i}");
            assert_eq!(attempt(&limiter, "officer", &address, false), Ok(false));
        }
        let wait = attempt(&limiter, "OFFICER", "10.0.0.9", false).unwrap_err();
        assert!((1..=60).contains(&wait));
        assert_eq!(attempt(&limiter, "surveyor", "10.0.0.1", false), Ok(false));
    }

    #[test]
    fn the_right_password_gets_through_a_locked_username_from_another_address() {
        let limiter = LoginLimiter::new(3, 100);
        for _ in 0..3 {
            assert_eq!(attempt(&limiter, "officer", "10.0.0.66", false), Ok(false));
        }
        assert!(attempt(&limiter, "officer", "10.0.0.7", false).is_err());
        assert_eq!(attempt(&limiter, "officer", "10.0.0.7", true), Ok(true));
        // The guessing address is refused even with the right password: it never
        // learns whether its fourth guess was right.
        assert!(attempt(&limiter, "officer", "10.0.0.66", true).is_err());
    }

    #[test]
    fn one_address_is_limited_across_usernames() {
        let limiter = LoginLimiter::new(100, 3);
        for name in ["a", "b", "c"] {
            assert!(limiter.before_verifying(name, "10.0.0.9").is_ok());
        }
        assert!(limiter.before_verifying("d", "10.0.0.9").is_err());
        assert!(limiter.before_verifying("d", "10.0.0.10").is_ok());
    }
}
