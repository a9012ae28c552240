//! Who may try a login now, and from where: the real client address
//! behind the hospital's trusted proxies ([`Proxies`]), and the
//! exponential delay a wrong-password streak puts on one account from one
//! address ([`Streaks`]) — never on the account for everyone, so nobody
//! can lock anyone out, and an unknown account is delayed exactly as a
//! known one, so the answers tell nobody which accounts exist (ADR 0017).

use std::net::IpAddr;

use dashmap::DashMap;
use ipnet::IpNet;

use crate::config::hospital::proxy_network;

/// The reverse proxies whose `X-Forwarded-For` or `Forwarded` header is
/// believed (`[security] trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct Proxies(Vec<IpNet>);

impl Proxies {
    /// The proxies of the configuration (entries that do not parse were
    /// refused when it was read).
    pub fn new(list: &[String]) -> Proxies {
        Proxies(list.iter().filter_map(|p| proxy_network(p)).collect())
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address: the peer's, or, when the peer is a trusted
    /// proxy, the nearest address of its `X-Forwarded-For` chain, read
    /// from the right, that is not a trusted proxy itself. Only that
    /// header is read (a proxy appends to it; a `Forwarded` header a client
    /// wrote would pass nginx untouched), and a hop that does not parse
    /// ends the walk, so an entry the client wrote further left is never
    /// reached.
    pub fn client(&self, peer: IpAddr, xff: Option<&str>) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        for hop in xff.unwrap_or("").split(',').rev() {
            let Some(ip) = hop_address(hop) else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// The key the login limits count a client address under: an IPv4
/// address itself, an IPv6 address by its /64 (one host's usual share, so
/// a client cannot escape the limits by walking its own network).
pub fn limit_key(source: &str) -> String {
    match source.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => source.to_string(),
    }
}

/// An IPv4 address mapped into IPv6 read as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The address of one hop: `1.2.3.4`, `1.2.3.4:5678`, `"[2001:db8::1]:80"`.
fn hop_address(hop: &str) -> Option<IpAddr> {
    let h = hop.trim().trim_matches('"');
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok().map(canonical);
    }
    let (host, _port) = h.rsplit_once(':')?;
    host.parse().ok().map(canonical)
}

/// Wrong-password streaks, per account and client address, in memory.
pub struct Streaks {
    map: DashMap<(String, String), Streak>,
    /// Failures in a row before each further attempt waits.
    free: u32,
    /// The longest wait (milliseconds).
    longest: i64,
}

#[derive(Clone, Copy)]
struct Streak {
    failures: u32,
    /// When the last one failed (unix milliseconds, the server's clock).
    last: i64,
}

/// Streaks kept before the older half is dropped.
const KEPT: usize = 50_000;
/// An account code longer than any real one is kept by its first
/// characters (what a client typed bounds no memory).
const CODE_KEPT: usize = 64;

fn key(account: &str, from: &str) -> (String, String) {
    (account.chars().take(CODE_KEPT).collect(), from.to_string())
}

impl Streaks {
    pub fn new(free: u32, longest_seconds: u64) -> Streaks {
        let longest = i64::try_from(longest_seconds)
            .unwrap_or(i64::MAX)
            .clamp(1, 7 * 24 * 3600);
        Streaks {
            map: DashMap::new(),
            free: free.max(1),
            longest: longest * 1000,
        }
    }

    /// The wait after `failures` in a row (ms): none for the first `free`,
    /// then 1 s, doubling with each failure, up to the longest.
    fn delay(&self, failures: u32) -> i64 {
        if failures < self.free {
            return 0;
        }
        let doublings = (failures - self.free).min(40);
        (1000i64 << doublings).min(self.longest)
    }

    /// Seconds (rounded up) `account` must still wait before trying from
    /// `from`, at `now_ms` (0: it may try now).
    pub fn wait(&self, account: &str, from: &str, now_ms: i64) -> i64 {
        let left = self.map.get(&key(account, from)).map_or(0, |s| {
            s.last
                .saturating_add(self.delay(s.failures))
                .saturating_sub(now_ms)
        });
        if left <= 0 {
            0
        } else {
            (left + 999) / 1000
        }
    }

    /// Counts a wrong password (or an unknown account) from `from` at
    /// `now_ms`; answers how many in a row now.
    pub fn failed(&self, account: &str, from: &str, now_ms: i64) -> u32 {
        if self.map.len() >= KEPT {
            let horizon = now_ms.saturating_sub(self.longest.saturating_mul(2));
            self.map.retain(|_, s| s.last > horizon);
            if self.map.len() >= KEPT {
                // Still full: the older half goes (the newest streaks, an
                // attacker's among them, stay).
                let mut lasts: Vec<i64> = self.map.iter().map(|s| s.last).collect();
                lasts.sort_unstable();
                let middle = lasts.get(lasts.len() / 2).copied().unwrap_or(i64::MIN);
                self.map.retain(|_, s| s.last >= middle);
            }
        }
        let mut s = self.map.entry(key(account, from)).or_insert(Streak {
            failures: 0,
            last: now_ms,
        });
        s.failures = s.failures.saturating_add(1);
        s.last = now_ms;
        s.failures
    }

    /// A good login from `from` ends its streak.
    pub fn succeeded(&self, account: &str, from: &str) {
        self.map.remove(&key(account, from));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn the_client_is_the_nearest_untrusted_hop_and_only_a_trusted_peer_is_believed() {
        let p = Proxies::new(&["127.0.0.1".into(), "10.1.0.0/16".into()]);
        // An untrusted peer's header is ignored.
        assert_eq!(
            p.client(ip("192.168.5.9"), Some("1.2.3.4")),
            ip("192.168.5.9")
        );
        // nginx on the same machine: its header names the workstation.
        assert_eq!(
            p.client(ip("127.0.0.1"), Some("192.168.5.20")),
            ip("192.168.5.20")
        );
        assert_eq!(
            p.client(ip("::ffff:127.0.0.1"), Some("[2001:db8::17]:4711")),
            ip("2001:db8::17")
        );
        // A client's own spoofed entry stays on the left of the real one.
        assert_eq!(
            p.client(ip("127.0.0.1"), Some("6.6.6.6, 192.168.5.20, 10.1.2.3")),
            ip("192.168.5.20")
        );
        // Garbage ends the walk at the last good hop; no header: the proxy.
        assert_eq!(
            p.client(ip("127.0.0.1"), Some("6.6.6.6, junk")),
            ip("127.0.0.1")
        );
        assert_eq!(p.client(ip("127.0.0.1"), None), ip("127.0.0.1"));
        assert!(proxy_network("10.0.0.0/8").is_some() && proxy_network("proxy").is_none());
        assert_eq!(
            limit_key("2001:db8:1:2:aaaa::1"),
            limit_key("2001:db8:1:2:bbbb::9")
        );
        assert_eq!(limit_key("192.168.1.7"), "192.168.1.7");
    }

    #[test]
    fn a_streak_waits_doubling_from_one_address_only() {
        let s = Streaks::new(3, 900);
        for n in 1..=3 {
            assert_eq!(s.failed("N1", "a", 100_000), n);
        }
        assert_eq!(s.wait("N1", "a", 100_000), 1);
        assert_eq!(s.wait("N1", "a", 100_400), 1, "rounded up");
        assert_eq!(s.wait("N1", "a", 101_000), 0);
        assert_eq!(s.wait("N1", "b", 100_000), 0, "another address");
        assert_eq!(s.wait("N2", "a", 100_000), 0, "another account");
        s.failed("N1", "a", 101_000);
        assert_eq!(s.wait("N1", "a", 101_005), 2);
        for _ in 0..20 {
            s.failed("N1", "a", 200_000);
        }
        assert_eq!(s.wait("N1", "a", 200_000), 900, "at most the longest");
        s.succeeded("N1", "a");
        assert_eq!(s.wait("N1", "a", 200_000), 0);
        let long = "N".repeat(10_000);
        s.failed(&long, "a", 1);
        assert_eq!(
            s.wait(&"N".repeat(64), "a", 1),
            0,
            "one failure: no wait yet, same key"
        );
    }
}
