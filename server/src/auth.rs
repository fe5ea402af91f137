//! Access control: the token a dashboard on a public address requires, how it is chosen at start, the start-up
//! banner that tells the user how to log in, which address a request comes from (the TCP peer, or what trusted
//! proxies say in `X-Forwarded-For`), and the per-client limiter on wrong tokens. The HTTP side (middleware, login
//! form, the Host and Origin checks) is in `routes::login`.

use std::{
    collections::{hash_map::RandomState, HashMap},
    hash::BuildHasher,
    net::{IpAddr, Ipv6Addr, SocketAddr},
    sync::Mutex,
    time::{Duration, Instant},
};

use rand::{distr::Alphanumeric, Rng};
use sha2::{Digest, Sha256};

/// Length of a generated token, in characters (letters and digits: about 190 bits).
pub const GENERATED_TOKEN_LEN: usize = 32;
/// Shortest token `--token`/`TOKENSCOPE_TOKEN` may give, in characters. Sixteen random hex digits are 64 bits:
/// out of reach at [`MAX_FAILURES`] guesses a minute per client, whatever the number of clients.
pub const MIN_TOKEN_LEN: usize = 16;
/// Distinct wrong tokens one client may try per [`FAILURE_WINDOW`] before it gets 429.
pub const MAX_FAILURES: u32 = 10;
/// The window failed logins are counted in.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Distinct unknown share-link ids one client may look up per [`FAILURE_WINDOW`] before its unknown ones get 429.
/// Ids are 131-bit random: nobody finds one by guessing, so this only makes a scan loud and short. It leaves room
/// for a browser whose cookie still names links that were deleted (the last [`SHARE_REMEMBERED`] ids count once each).
pub const MAX_UNKNOWN_SHARES: u32 = 20;
/// Unknown share ids remembered per client, so that the same ones sent again (a share cookie holding up to 8 links
/// whose runs were deleted, on every asset of a page) count once.
pub const SHARE_REMEMBERED: usize = 16;

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
    share_limiter: FailureLimiter,
    trust_proxy: u8,
    allow_hosts: Vec<String>,
}

// Hand-written so that the token can never reach a log through `{:?}`.
impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("source", &self.source)
            .field("trust_proxy", &self.trust_proxy)
            .field("allow_hosts", &self.allow_hosts)
            .finish_non_exhaustive()
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
        Ok(Access {
            token,
            source,
            limiter: FailureLimiter::default(),
            share_limiter: FailureLimiter::new(MAX_UNKNOWN_SHARES, SHARE_REMEMBERED),
            trust_proxy: 0,
            allow_hosts: Vec::new(),
        })
    }

    /// Trusts the `X-Forwarded-For` entries of `hops` proxies in front of the server (`--trust-proxy`) to name the
    /// client; 0 (the default): the TCP peer is the client.
    pub fn trusting_proxies(mut self, hops: u8) -> Self {
        self.trust_proxy = hops;
        self
    }

    /// Host names an open server answers to besides `localhost` and loopback addresses (`--allow-host`).
    pub fn allowing_hosts(mut self, hosts: &[String]) -> Self {
        self.allow_hosts = hosts.iter().map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect();
        self
    }

    /// How many proxies' `X-Forwarded-For` entries are trusted (`--trust-proxy`).
    pub fn trust_proxy(&self) -> u8 {
        self.trust_proxy
    }

    /// The host names `--allow-host` added (lower case).
    pub fn allow_hosts(&self) -> &[String] {
        &self.allow_hosts
    }

    /// The address a request comes from: the TCP `peer`, or with `--trust-proxy N` the entry of `X-Forwarded-For`
    /// (`forwarded_for`: the header's values in order) that the outermost trusted proxy added ([`forwarded_client`]).
    pub fn client_ip<'a>(&self, peer: IpAddr, forwarded_for: impl IntoIterator<Item = &'a str>) -> IpAddr {
        if self.trust_proxy == 0 {
            return peer;
        }
        forwarded_client(forwarded_for, self.trust_proxy).unwrap_or(peer)
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

    /// The limiter on unknown share-link ids (`/s/{id}` and the ids of a share cookie), counted per client as wrong
    /// tokens are: [`MAX_UNKNOWN_SHARES`] distinct ones per [`FAILURE_WINDOW`].
    pub fn share_limiter(&self) -> &FailureLimiter {
        &self.share_limiter
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

/// A token must fit in a cookie and a header as it is: visible ASCII without `;`, `,`, `"` or `\`; and it must be
/// long enough that guessing it at the limiter's pace is hopeless ([`MIN_TOKEN_LEN`]).
fn validate(token: &str) -> Result<(), String> {
    let ok = token.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\'));
    if !ok {
        return Err("--token/TOKENSCOPE_TOKEN may only hold visible ASCII characters other than ; , \" and \\".into());
    }
    let len = token.len();
    if len < MIN_TOKEN_LEN {
        return Err(format!(
            "--token/TOKENSCOPE_TOKEN is too short (length {len}): use at least {MIN_TOKEN_LEN} characters, e.g. \
             `openssl rand -hex 16`, or leave it out and serve prints a generated one"
        ));
    }
    Ok(())
}

/// The client address in `X-Forwarded-For` behind `hops` trusted proxies: the `hops`-th entry from the right. Each
/// proxy appends the address it got the request from, so the rightmost entry is what the nearest proxy saw (the
/// client cannot forge it) and the `hops`-th is what the outermost trusted proxy saw. `forwarded_for` holds the
/// header's values in the order they came (several headers make one list). `None` when there are fewer entries than
/// `hops` or that entry is not an address (`unknown`, an obfuscated name): the caller then keys on the TCP peer.
pub fn forwarded_client<'a>(forwarded_for: impl IntoIterator<Item = &'a str>, hops: u8) -> Option<IpAddr> {
    if hops == 0 {
        return None;
    }
    let entries: Vec<&str> = forwarded_for.into_iter().flat_map(|v| v.split(',')).map(str::trim).collect();
    let entry = entries.len().checked_sub(usize::from(hops)).map(|i| entries[i])?;
    parse_forwarded_addr(entry)
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_forwarded_addr(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = entry.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// Whom the limiter counts for: an IPv4 address, or an IPv6 address's /64 network (one host usually holds a whole
/// /64, so keying on single IPv6 addresses would give it 2^64 fresh budgets). IPv4-mapped IPv6 counts as IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The key of the client at `ip`.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => ClientKey(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(IpAddr::V4(v4)),
                None => ClientKey(IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX)))),
            },
        }
    }
}

/// Wrong tokens remembered per client, so that the same wrong token sent again (a stale cookie on every asset of a
/// page) counts once.
const REMEMBERED: usize = 4;
/// Clients tracked at most. Past this, closed windows are swept out, then the oldest window is dropped.
const MAX_KEYS: usize = 4096;

/// One client's window: when it started, how many distinct failures it brought, and the last few (hashed; a ring
/// of the limiter's `remembered` entries).
#[derive(Debug)]
struct Window {
    start: Instant,
    failures: u32,
    recent: Vec<u64>,
    next: usize,
}

impl Window {
    fn fresh() -> Self {
        Window { start: Instant::now(), failures: 0, recent: Vec::new(), next: 0 }
    }
}

/// Counts distinct failures per client ([`ClientKey`]) in fixed windows of [`FAILURE_WINDOW`]: wrong tokens from every
/// way a token is presented (bearer header, cookie, `?token=` link, login form), or in a second instance unknown
/// share-link ids. A client that reaches the limit ([`MAX_FAILURES`] for tokens) is blocked until its window ends. At
/// most [`MAX_KEYS`] clients are tracked (about 300 KiB for tokens).
#[derive(Debug)]
pub struct FailureLimiter {
    windows: Mutex<HashMap<ClientKey, Window>>,
    /// Keyed per process, so the remembered hashes mean nothing outside it.
    hasher: RandomState,
    /// Distinct failures per window that block.
    max: u32,
    /// Recent values remembered per client (each counts once while remembered).
    remembered: usize,
}

/// The wrong-token limiter: [`MAX_FAILURES`] per window, the last 4 remembered.
impl Default for FailureLimiter {
    fn default() -> Self {
        FailureLimiter::new(MAX_FAILURES, REMEMBERED)
    }
}

impl FailureLimiter {
    /// A limiter that blocks a client after `max` distinct failures in a window, remembering its last `remembered`
    /// values (at least one) so that a value sent again counts once.
    pub fn new(max: u32, remembered: usize) -> Self {
        FailureLimiter {
            windows: Mutex::default(),
            hasher: RandomState::new(),
            max: max.max(1),
            remembered: remembered.max(1),
        }
    }

    /// Distinct failures per window that block a client.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// How long `key` stays blocked, while it has used up its failures for this window.
    pub fn blocked(&self, key: ClientKey) -> Option<Duration> {
        let Ok(windows) = self.windows.lock() else { return None };
        let w = windows.get(&key).filter(|w| w.failures >= self.max)?;
        FAILURE_WINDOW.checked_sub(w.start.elapsed()).filter(|left| !left.is_zero())
    }

    /// Counts `presented`, a wrong token from `key`, unless `key` brought the same one recently. True when counted.
    pub fn fail(&self, key: ClientKey, presented: &str) -> bool {
        let hash = self.hasher.hash_one(presented);
        let Ok(mut windows) = self.windows.lock() else { return false };
        if windows.len() >= MAX_KEYS && !windows.contains_key(&key) {
            windows.retain(|_, w| w.start.elapsed() < FAILURE_WINDOW);
            if windows.len() >= MAX_KEYS {
                let oldest = windows.iter().min_by_key(|(_, w)| w.start).map(|(k, _)| *k);
                if let Some(oldest) = oldest {
                    windows.remove(&oldest);
                }
            }
        }
        let w = windows.entry(key).or_insert_with(Window::fresh);
        if w.start.elapsed() >= FAILURE_WINDOW {
            *w = Window::fresh();
        }
        if w.recent.contains(&hash) {
            return false;
        }
        if w.recent.len() < self.remembered {
            w.recent.push(hash);
        } else {
            w.recent[w.next] = hash;
        }
        w.next = (w.next + 1) % self.remembered;
        w.failures = w.failures.saturating_add(1);
        true
    }

    /// Clients tracked now.
    pub fn tracked(&self) -> usize {
        self.windows.lock().map_or(0, |w| w.len())
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
        let access = Access::resolve(Some("s3cret-token-0123".into()), "127.0.0.1").unwrap();
        assert!(access.required());
        assert!(access.accepts("s3cret-token-0123"));
        assert!(!access.accepts("s3cret-token-012"));
        assert!(!access.accepts("s3cret-token-01234"));
        assert!(!access.accepts(""));
        assert!(Access::resolve(Some("a;b-0123456789abcdef".into()), "0.0.0.0").is_err());
    }

    #[test]
    fn a_given_token_needs_sixteen_characters() {
        for short in ["x", "abc", "fifteen-chars-x"] {
            let err = Access::resolve(Some(short.into()), "0.0.0.0").unwrap_err();
            assert!(err.contains("--token") && err.contains("at least 16 characters"), "{err}");
            assert!(err.contains("openssl rand -hex 16") && err.contains("generated"), "{err}");
            assert!(err.contains(&format!("(length {})", short.len())), "{err}");
            assert!(!err.contains(short) || short == "x", "the message does not repeat the token: {err}");
        }
        assert!(Access::resolve(Some("sixteen-chars-xy".into()), "0.0.0.0").is_ok());
        assert_eq!(Access::resolve(Some(String::new()), "127.0.0.1").unwrap().source(), TokenSource::None);
    }

    #[test]
    fn the_client_is_the_peer_or_what_the_trusted_proxies_saw() {
        let peer: IpAddr = "10.9.9.9".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // The client forged "6.6.6.6"; proxy 1 (outer) saw 1.1.1.1 and appended it; proxy 2 (nearest) saw proxy 1.
        let xff = ["6.6.6.6, 1.1.1.1", "192.168.0.2"];
        assert_eq!(forwarded_client(xff, 0), None);
        assert_eq!(forwarded_client(xff, 1), Some(ip("192.168.0.2")));
        assert_eq!(forwarded_client(xff, 2), Some(ip("1.1.1.1")));
        assert_eq!(forwarded_client(xff, 3), Some(ip("6.6.6.6")));
        assert_eq!(forwarded_client(xff, 4), None, "fewer entries than hops: the peer");
        assert_eq!(forwarded_client(["unknown"], 1), None);
        assert_eq!(forwarded_client(["1.1.1.1, garbage"], 1), None);
        assert_eq!(forwarded_client([""], 1), None);
        assert_eq!(forwarded_client(["203.0.113.7:4711"], 1), Some(ip("203.0.113.7")));
        assert_eq!(forwarded_client(["[2001:db8::1]:443"], 1), Some(ip("2001:db8::1")));
        assert_eq!(forwarded_client(["[2001:db8::1]"], 1), Some(ip("2001:db8::1")));
        assert_eq!(forwarded_client([" 2001:db8::2 "], 1), Some(ip("2001:db8::2")));

        let direct = Access::resolve(None, "127.0.0.1").unwrap();
        assert_eq!(direct.client_ip(peer, xff), peer, "without --trust-proxy the header is ignored");
        let proxied = Access::resolve(None, "127.0.0.1").unwrap().trusting_proxies(2);
        assert_eq!(proxied.client_ip(peer, xff), ip("1.1.1.1"));
        assert_eq!(proxied.client_ip(peer, []), peer, "no header: the peer");
        assert_eq!(proxied.client_ip(peer, ["nonsense"]), peer, "a malformed header: the peer");
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_network() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(ClientKey::of(ip("2001:db8:1:2::1")), ClientKey::of(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(ClientKey::of(ip("2001:db8:1:2::1")), ClientKey::of(ip("2001:db8:1:3::1")));
        assert_eq!(ClientKey::of(ip("::ffff:10.0.0.1")), ClientKey::of(ip("10.0.0.1")));
        assert_ne!(ClientKey::of(ip("10.0.0.1")), ClientKey::of(ip("10.0.0.2")));
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

        let given = Access::resolve(Some("user-secret-42-0123".into()), "0.0.0.0").unwrap();
        let banner = given.banner(addr, &open);
        assert!(banner.contains("https://abc123-3000.proxy.runpod.net/ "), "{banner}");
        assert!(!banner.contains("?token="), "{banner}");
        assert!(!banner.contains("user-secret-42-0123"), "{banner}");
        assert!(banner.contains("from --token/TOKENSCOPE_TOKEN"), "{banner}");
        assert!(!format!("{given:?}").contains("user-secret-42-0123"));

        let open_access = Access::resolve(None, "127.0.0.1").unwrap();
        let banner = open_access.banner("127.0.0.1:3000".parse().unwrap(), &open[..1]);
        assert!(banner.contains("http://127.0.0.1:3000/  (this machine)"), "{banner}");
        assert!(!banner.contains("access token") && !banner.contains("?token="), "{banner}");
    }

    fn key(s: &str) -> ClientKey {
        ClientKey::of(s.parse().unwrap())
    }

    #[test]
    fn distinct_wrong_tokens_past_the_limit_block_that_client_only() {
        let limiter = FailureLimiter::default();
        let (a, b) = (key("10.0.0.1"), key("10.0.0.2"));
        for i in 0..MAX_FAILURES {
            assert_eq!(limiter.blocked(a), None, "after {i} failures");
            assert!(limiter.fail(a, &format!("guess-{i}")));
        }
        let left = limiter.blocked(a).expect("blocked after MAX_FAILURES distinct guesses");
        assert!(left <= FAILURE_WINDOW && left > FAILURE_WINDOW - Duration::from_secs(30), "{left:?}");
        assert_eq!(limiter.blocked(b), None);
    }

    #[test]
    fn the_same_wrong_token_again_counts_once() {
        let limiter = FailureLimiter::default();
        let a = key("10.0.0.1");
        assert!(limiter.fail(a, "stale-cookie"));
        for _ in 0..100 {
            assert!(!limiter.fail(a, "stale-cookie"), "a stale cookie on every asset of a page counts once");
        }
        assert_eq!(limiter.blocked(a), None);
        // A few others in between do not make it count again; they count themselves.
        for i in 0..(REMEMBERED - 1) {
            assert!(limiter.fail(a, &format!("other-{i}")));
        }
        assert!(!limiter.fail(a, "stale-cookie"));
        // Cycling through more values than are remembered counts each time: a guesser gains nothing by it.
        let mut counted = 0;
        for round in 0..10 {
            for i in 0..=REMEMBERED {
                counted += u32::from(limiter.fail(a, &format!("cycle-{i}")));
            }
            if limiter.blocked(a).is_some() {
                assert!(round < 3, "blocked by round {round}");
                break;
            }
        }
        assert!(counted > 0 && limiter.blocked(a).is_some());
    }

    #[test]
    fn the_share_limiter_counts_distinct_unknown_ids_and_forgives_a_stale_cookie() {
        let access = Access::resolve(None, "127.0.0.1").unwrap();
        let limiter = access.share_limiter();
        assert_eq!(limiter.max(), MAX_UNKNOWN_SHARES);
        let a = key("10.0.0.1");
        // A cookie of 8 dead links, sent with every request of a page, counts 8 once.
        for _ in 0..50 {
            for i in 0..8 {
                limiter.fail(a, &format!("dead-{i}"));
            }
        }
        assert_eq!(limiter.blocked(a), None);
        for i in 0..(MAX_UNKNOWN_SHARES - 8 - 1) {
            assert!(limiter.fail(a, &format!("scan-{i}")));
        }
        assert_eq!(limiter.blocked(a), None, "one short of the limit");
        assert!(limiter.fail(a, "scan-last"));
        assert!(limiter.blocked(a).is_some());
        assert_eq!(access.limiter().blocked(a), None, "the token limiter is a separate count");
    }

    #[test]
    fn the_limiter_tracks_a_bounded_number_of_clients() {
        let limiter = FailureLimiter::default();
        for i in 0..(MAX_KEYS as u32 + 500) {
            limiter.fail(ClientKey::of(IpAddr::V4(i.into())), "guess");
        }
        assert_eq!(limiter.tracked(), MAX_KEYS);
        // The newest are kept (the oldest windows were dropped).
        let newest = ClientKey::of(IpAddr::V4((MAX_KEYS as u32 + 499).into()));
        assert!(!limiter.fail(newest, "guess"), "still remembered");
    }
}
