//! Access control: the token a dashboard on a public address requires, how it is chosen at start, the start-up
//! banner that tells the user how to log in, and the per-IP limiter on failed logins. The HTTP side (middleware,
//! login form) is in `routes::login`.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Mutex,
    time::{Duration, Instant},
};

use rand::{distr::Alphanumeric, Rng};
use sha2::{Digest, Sha256};

/// Length of a generated token, in characters (letters and digits: about 190 bits).
pub const GENERATED_TOKEN_LEN: usize = 32;
/// Failed logins one client IP may make per [`FAILURE_WINDOW`] before it gets 429.
pub const MAX_FAILURES: u32 = 10;
/// The window failed logins are counted in.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Where the access token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// No token: a loopback bind without `--token` is open.
    None,
    /// `--token` or `TOKENSCOPE_TOKEN`.
    Given,
    /// Generated at start because the bind is public and none was given.
    Generated,
}

/// The server's access policy, fixed at start.
pub struct Access {
    token: Option<String>,
    source: TokenSource,
    limiter: FailureLimiter,
}

// Hand-written so that the token can never reach a log through `{:?}`.
impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").field("source", &self.source).finish_non_exhaustive()
    }
}

impl Access {
    /// The policy for `host` with the user's token, if any: a given token always applies; a public bind without
    /// one gets a generated token; a loopback bind without one is open.
    pub fn resolve(given: Option<String>, host: &str) -> Result<Self, String> {
        let given = given.filter(|t| !t.is_empty());
        let (token, source) = match given {
            Some(t) => {
                validate(&t)?;
                (Some(t), TokenSource::Given)
            }
            None if is_loopback(host) => (None, TokenSource::None),
            None => (Some(generate()), TokenSource::Generated),
        };
        Ok(Access { token, source, limiter: FailureLimiter::default() })
    }

    /// Whether requests need the token.
    pub fn required(&self) -> bool {
        self.token.is_some()
    }

    /// Where the token came from.
    pub fn source(&self) -> TokenSource {
        self.source
    }

    /// Whether `presented` is the token, compared in constant time (both sides are hashed first, so neither
    /// the content nor the length of the real token shows in the timing). Always true when no token is required.
    pub fn accepts(&self, presented: &str) -> bool {
        let Some(token) = &self.token else { return true };
        let (a, b) = (Sha256::digest(token.as_bytes()), Sha256::digest(presented.as_bytes()));
        a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// The failed-login limiter.
    pub fn limiter(&self) -> &FailureLimiter {
        &self.limiter
    }

    /// What `serve` prints on stderr at start: the bound address, how to log in, and `open` — the dashboard's URLs
    /// with a note each (`banner::open_urls`: loopback, LAN, the RunPod proxy). The token itself appears only
    /// when it was generated (the user cannot know it otherwise), as `?token=` login links; a token the user gave
    /// is never printed, since stderr often ends up in a log.
    pub fn banner(&self, addr: SocketAddr, open: &[(String, &str)]) -> String {
        let version = env!("CARGO_PKG_VERSION");
        let mut out = match (&self.token, self.source) {
            (Some(token), TokenSource::Generated) => format!(
                "tokenscope {version} — listening on {addr}, access token required\n\
                 access token (generated; set --token or TOKENSCOPE_TOKEN to choose one): {token}\n"
            ),
            (Some(_), _) => format!(
                "tokenscope {version} — listening on {addr}, access token required\n\
                 access token: from --token/TOKENSCOPE_TOKEN (log in with it, or send `Authorization: Bearer TOKEN`)\n"
            ),
            (None, _) => format!("tokenscope {version} — listening on {addr}\n"),
        };
        let login = match (&self.token, self.source) {
            (Some(token), TokenSource::Generated) => format!("?token={token}"),
            _ => String::new(),
        };
        out.push_str("open the dashboard at:");
        let width = open.iter().map(|(url, _)| url.len()).max().unwrap_or(0) + login.len();
        for (url, note) in open {
            let link = format!("{url}{login}");
            out.push_str(&format!("\n  {link:<width$}  ({note})"));
        }
        out
    }
}

/// Whether `host` (as given to `--host`) is a loopback address; names other than `localhost` count as public.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn generate() -> String {
    rand::rng().sample_iter(Alphanumeric).take(GENERATED_TOKEN_LEN).map(char::from).collect()
}

/// A token must fit in a cookie and a header as it is: visible ASCII without `;`, `,`, `"` or `\`.
fn validate(token: &str) -> Result<(), String> {
    let ok = token.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\'));
    if ok {
        Ok(())
    } else {
        Err("--token/TOKENSCOPE_TOKEN may only hold visible ASCII characters other than ; , \" and \\".into())
    }
}

/// Counts failed logins per client IP in fixed windows of [`FAILURE_WINDOW`].
#[derive(Debug, Default)]
pub struct FailureLimiter {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// Entries kept before closed windows are swept out.
const SWEEP_AT: usize = 4096;

impl FailureLimiter {
    /// Whether `ip` has used up its failed logins for now.
    pub fn blocked(&self, ip: IpAddr) -> bool {
        let Ok(windows) = self.windows.lock() else { return false };
        windows.get(&ip).is_some_and(|(start, n)| start.elapsed() < FAILURE_WINDOW && *n >= MAX_FAILURES)
    }

    /// Counts one failed login from `ip`.
    pub fn fail(&self, ip: IpAddr) {
        let Ok(mut windows) = self.windows.lock() else { return };
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (start, _)| start.elapsed() < FAILURE_WINDOW);
        }
        let entry = windows.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= FAILURE_WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_open_and_public_binds_get_a_generated_token() {
        let open = Access::resolve(None, "127.0.0.1").unwrap();
        assert!(!open.required());
        assert!(Access::resolve(None, "::1").unwrap().source() == TokenSource::None);
        for host in ["0.0.0.0", "::", "192.168.1.20", "pod.example"] {
            let access = Access::resolve(None, host).unwrap();
            assert_eq!(access.source(), TokenSource::Generated, "{host}");
            let token = access.token.clone().unwrap();
            assert_eq!(token.len(), GENERATED_TOKEN_LEN);
            assert!(token.chars().all(|c| c.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn the_token_is_compared_exactly() {
        let access = Access::resolve(Some("s3cret-token".into()), "127.0.0.1").unwrap();
        assert!(access.required());
        assert!(access.accepts("s3cret-token"));
        assert!(!access.accepts("s3cret-tokeN"));
        assert!(!access.accepts("s3cret-token2"));
        assert!(!access.accepts(""));
        assert!(Access::resolve(Some("a;b".into()), "0.0.0.0").is_err());
    }

    #[test]
    fn the_banner_shows_a_generated_token_but_never_a_given_one() {
        let addr: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        let generated = Access::resolve(None, "0.0.0.0").unwrap();
        let token = generated.token.clone().unwrap();
        let open = [
            ("http://127.0.0.1:3000/".to_owned(), "this machine"),
            ("https://abc123-3000.proxy.runpod.net/".to_owned(), "RunPod proxy"),
        ];
        let banner = generated.banner(addr, &open);
        assert!(banner.contains(&format!("http://127.0.0.1:3000/?token={token}")), "{banner}");
        assert!(banner.contains(&format!("https://abc123-3000.proxy.runpod.net/?token={token}")), "{banner}");

        let given = Access::resolve(Some("user-secret-42".into()), "0.0.0.0").unwrap();
        let banner = given.banner(addr, &open);
        assert!(banner.contains("https://abc123-3000.proxy.runpod.net/ "), "{banner}");
        assert!(!banner.contains("?token="), "{banner}");
        assert!(!banner.contains("user-secret-42"), "{banner}");
        assert!(banner.contains("from --token/TOKENSCOPE_TOKEN"), "{banner}");
        assert!(!format!("{given:?}").contains("user-secret-42"));

        let open_access = Access::resolve(None, "127.0.0.1").unwrap();
        let banner = open_access.banner("127.0.0.1:3000".parse().unwrap(), &open[..1]);
        assert!(banner.contains("http://127.0.0.1:3000/  (this machine)"), "{banner}");
        assert!(!banner.contains("access token") && !banner.contains("?token="), "{banner}");
    }

    #[test]
    fn failures_past_the_limit_block_that_ip_only() {
        let limiter = FailureLimiter::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..MAX_FAILURES {
            assert!(!limiter.blocked(a));
            limiter.fail(a);
        }
        assert!(limiter.blocked(a));
        assert!(!limiter.blocked(b));
    }
}
