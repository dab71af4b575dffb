//! Login throttling, per username and per client address, in memory.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Two keyed limiters: one for the username tried, one for the client address.
pub struct LoginLimiter {
    per_user: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl LoginLimiter {
    /// Allows `per_user` and `per_address` attempts a minute (a burst of that size,
    /// refilled evenly).
    pub fn new(per_user: u32, per_address: u32) -> LoginLimiter {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        LoginLimiter {
            per_user: DefaultKeyedRateLimiter::keyed(quota(per_user)),
            per_address: DefaultKeyedRateLimiter::keyed(quota(per_address)),
            clock: DefaultClock::default(),
        }
    }

    /// Records an attempt; `Err(seconds)` says how long to wait before the next.
    pub fn check(&self, username: &str, address: &str) -> Result<(), u64> {
        let now = self.clock.now();
        let wait = |outcome: Result<(), governor::NotUntil<_>>| {
            outcome.map_err(|not_until| not_until.wait_time_from(now).as_secs().max(1))
        };
        wait(self.per_address.check_key(&address.to_string()))?;
        wait(self.per_user.check_key(&username.to_lowercase()))?;
        if self.per_user.len() > 100_000 {
            self.per_user.retain_recent();
            self.per_address.retain_recent();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixth_attempt_in_a_minute_is_refused_for_that_user_only() {
        let limiter = LoginLimiter::new(5, 100);
        for _ in 0..5 {
            assert!(limiter.check("officer", "10.0.0.1").is_ok());
        }
        let wait = limiter.check("OFFICER", "10.0.0.2").unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(limiter.check("surveyor", "10.0.0.1").is_ok());
    }

    #[test]
    fn one_address_is_limited_across_usernames() {
        let limiter = LoginLimiter::new(100, 3);
        for name in ["a", "b", "c"] {
            assert!(limiter.check(name, "10.0.0.9").is_ok());
        }
        assert!(limiter.check("d", "10.0.0.9").is_err());
    }
}
