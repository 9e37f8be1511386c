//! Security events: failed and throttled sign-ins, wrong codes, refused till keys, refusals.
//! Each is logged once, with a masked identifier and the client's address (the request id
//! comes from the request's span), and counted by whoever observes them (the server's
//! `/metrics`).

use crate::Kopilka;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityEvent {
    /// A wrong password (or an unknown login).
    LoginFailed,
    /// A sign-in refused before its password was checked: a budget was spent.
    LoginThrottled,
    /// A wrong second factor from staff.
    TotpFailed,
    /// A one-time SMS code compared and found wrong.
    OtpWrong,
    /// A code whose tries were used up.
    OtpExhausted,
    /// A till key that is unknown or revoked.
    TillKeyRefused,
    /// An authenticated caller asked for what their role does not allow.
    Forbidden,
    /// Card binding refused or throttled.
    CardBindingRefused,
}

impl SecurityEvent {
    pub const ALL: [SecurityEvent; 8] = [
        SecurityEvent::LoginFailed,
        SecurityEvent::LoginThrottled,
        SecurityEvent::TotpFailed,
        SecurityEvent::OtpWrong,
        SecurityEvent::OtpExhausted,
        SecurityEvent::TillKeyRefused,
        SecurityEvent::Forbidden,
        SecurityEvent::CardBindingRefused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SecurityEvent::LoginFailed => "login_failed",
            SecurityEvent::LoginThrottled => "login_throttled",
            SecurityEvent::TotpFailed => "totp_failed",
            SecurityEvent::OtpWrong => "otp_wrong",
            SecurityEvent::OtpExhausted => "otp_exhausted",
            SecurityEvent::TillKeyRefused => "till_key_refused",
            SecurityEvent::Forbidden => "forbidden",
            SecurityEvent::CardBindingRefused => "card_binding_refused",
        }
    }
}

/// The client's address as the edge of the server decided it (behind trusted proxies), carried
/// on each request for the API and the pages alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub std::net::IpAddr);

/// Counts security events (the server's metrics implement it).
pub trait SecurityObserver: Send + Sync {
    fn observe(&self, event: SecurityEvent);
}

impl Kopilka {
    /// Logs one security event and counts it. `subject` must already be masked.
    pub fn security_event(&self, event: SecurityEvent, subject: &str, ip: &str) {
        tracing::warn!(
            target: "kopilka::security",
            event = event.as_str(),
            subject,
            ip,
            "security event"
        );
        if let Some(observer) = self.inner.security.get() {
            observer.observe(event);
        }
    }

    /// A keyed hash under the server's secret, for values a client must not be able to forge
    /// (the pages' CSRF tokens).
    pub fn keyed_hash(&self, parts: &[&str]) -> String {
        self.inner.secret.code_hash(parts)
    }

    /// Sets who counts security events; the first call wins.
    pub fn observe_security(&self, observer: Arc<dyn SecurityObserver>) {
        let _ = self.inner.security.set(observer);
    }
}

/// An IP address as a customer's session list shows it: the network, not the host.
pub fn masked_ip(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.*")
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::*", s[0], s[1], s[2])
        }
        Err(_) => "*".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_addresses_keep_only_the_network() {
        assert_eq!(masked_ip("203.0.113.77"), "203.0.113.*");
        assert_eq!(masked_ip("2001:db8:1:2::5"), "2001:db8:1::*");
        assert_eq!(masked_ip("unknown"), "*");
    }
}
