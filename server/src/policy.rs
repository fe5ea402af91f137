//! What runs started from the dashboard may read and reach, fixed at start by `serve`'s options: datasets only from
//! one folder (`--dataset-dir`, regular files under `--dataset-max-mb`), targets only from `--allow-target` when it
//! is given — and never link-local or cloud-metadata addresses unless it names them. The CLI's runs are its user's
//! own and are not confined.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use crate::engine::dataset::{DatasetAccess, DEFAULT_DATASET_MAX_MB};

/// `serve`'s options for the policy.
#[derive(Debug, Clone, Default)]
pub struct PolicyConfig {
    /// Folder datasets are read from; `None`: the working directory.
    pub dataset_dir: Option<PathBuf>,
    /// Largest dataset file, MiB; `None`: [`DEFAULT_DATASET_MAX_MB`].
    pub dataset_max_mb: Option<u64>,
    /// Targets runs may reach (`--allow-target`); empty: any but link-local and metadata addresses.
    pub allow_targets: Vec<String>,
}

/// One `--allow-target` entry.
#[derive(Debug, Clone, PartialEq)]
enum Rule {
    /// An address or network (`10.0.0.5`, `10.0.0.0/8`, `fd00::/8`), any port or one.
    Net(IpNet, Option<u16>),
    /// A host name (`gpu-box`, `llm.internal`), any port or one.
    Host(String, Option<u16>),
}

/// The dashboard's policy on datasets and targets.
#[derive(Debug, Clone)]
pub struct Policy {
    datasets: DatasetAccess,
    allow: Vec<Rule>,
    demo: Option<String>,
}

/// Addresses no run goes to unless `--allow-target` names them: cloud instance metadata services, which answer
/// credentials to whoever asks from the machine.
const METADATA: [&str; 2] = ["169.254.169.254", "fd00:ec2::254"];

impl Policy {
    /// The policy of `config`; the error names the option and the fix.
    pub fn new(config: &PolicyConfig) -> Result<Self, String> {
        let dir = match &config.dataset_dir {
            Some(d) => d.clone(),
            None => std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?,
        };
        let max_mb = config.dataset_max_mb.unwrap_or(DEFAULT_DATASET_MAX_MB);
        if max_mb == 0 {
            return Err("--dataset-max-mb must be at least 1".into());
        }
        let datasets = DatasetAccess::confined(&dir, max_mb.saturating_mul(1 << 20))
            .map_err(|e| format!("--dataset-dir {}: {e} (give a folder that exists)", dir.display()))?;
        let allow = config.allow_targets.iter().map(|r| parse_rule(r)).collect::<Result<_, _>>()?;
        Ok(Policy { datasets, allow, demo: None })
    }

    /// Lets runs reach the built-in demo target whatever the allow list says.
    pub fn with_demo(mut self, demo: Option<&str>) -> Self {
        self.demo = demo.map(|d| d.trim_end_matches('/').to_owned());
        self
    }

    /// Where datasets come from.
    pub fn datasets(&self) -> &DatasetAccess {
        &self.datasets
    }

    /// The dataset folder.
    pub fn dataset_dir(&self) -> &Path {
        self.datasets.root().unwrap_or(Path::new("."))
    }

    /// Whether runs may reach `url`'s host as written (no DNS): the message for the spec's `target` when not. A host
    /// name that only networks of the list could admit passes here; [`Policy::check_target_resolved`] decides it.
    pub fn check_target(&self, url: &str) -> Result<(), String> {
        if self.is_demo(url) {
            return Ok(());
        }
        let (host, port) = host_port(url).ok_or_else(|| "needs a host, e.g. http://127.0.0.1:8000".to_owned())?;
        match host.parse::<IpAddr>() {
            Ok(ip) => self.check_ip(ip, port, &host),
            Err(_) if self.allow.is_empty() => Ok(()),
            Err(_) => {
                let maybe = self.allow.iter().any(|r| match r {
                    Rule::Host(h, p) => h.eq_ignore_ascii_case(&host) && p.is_none_or(|p| p == port),
                    Rule::Net(..) => true,
                });
                if maybe {
                    Ok(())
                } else {
                    Err(self.not_listed(&host))
                }
            }
        }
    }

    /// [`Policy::check_target`], then every address the host name resolves to: a name must not lead where an address
    /// could not. A name that does not resolve passes when there is no list (preflight reports it). A name could
    /// resolve elsewhere by the time a request connects (DNS rebinding); `--allow-target` with addresses closes that.
    pub async fn check_target_resolved(&self, url: &str) -> Result<(), String> {
        self.check_target(url)?;
        if self.is_demo(url) {
            return Ok(());
        }
        let Some((host, port)) = host_port(url) else { return Ok(()) };
        if host.parse::<IpAddr>().is_ok() {
            return Ok(());
        }
        let named_by_rule = self
            .allow
            .iter()
            .any(|r| matches!(r, Rule::Host(h, p) if h.eq_ignore_ascii_case(&host) && p.is_none_or(|p| p == port)));
        if named_by_rule {
            return Ok(());
        }
        let addrs = match tokio::net::lookup_host((host.as_str(), port)).await {
            Ok(addrs) => addrs,
            Err(_) if self.allow.is_empty() => return Ok(()),
            Err(e) => {
                return Err(format!("{host} does not resolve ({e}), so it cannot be checked against --allow-target"))
            }
        };
        for addr in addrs {
            self.check_ip(addr.ip(), port, &host).map_err(|e| format!("{host} resolves to {}: {e}", addr.ip()))?;
        }
        Ok(())
    }

    fn is_demo(&self, url: &str) -> bool {
        self.demo.as_deref().is_some_and(|d| url.trim_end_matches('/') == d)
    }

    fn check_ip(&self, ip: IpAddr, port: u16, shown: &str) -> Result<(), String> {
        let ip = canonical(ip);
        let listed = self.allow.iter().any(|r| match r {
            Rule::Net(net, p) => net.contains(&ip) && p.is_none_or(|p| p == port),
            Rule::Host(..) => false,
        });
        if listed {
            return Ok(());
        }
        if let Some(why) = forbidden(ip) {
            return Err(format!("{shown} is {why}; runs do not go there unless `serve --allow-target {ip}` allows it"));
        }
        if self.allow.is_empty() {
            Ok(())
        } else {
            Err(self.not_listed(shown))
        }
    }

    fn not_listed(&self, host: &str) -> String {
        format!("{host} is not among the targets this server may reach (`serve --allow-target`); ask its operator")
    }
}

/// Why runs never go to `ip` by default, if they don't.
fn forbidden(ip: IpAddr) -> Option<&'static str> {
    if METADATA.iter().any(|m| m.parse::<IpAddr>().is_ok_and(|m| m == ip)) {
        return Some("a cloud metadata address");
    }
    match ip {
        IpAddr::V4(v4) if v4.is_link_local() => Some("a link-local address"),
        IpAddr::V4(v4) if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() => Some("not a host address"),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => Some("a link-local address"),
        IpAddr::V6(v6) if v6.is_unspecified() || v6.is_multicast() => Some("not a host address"),
        _ => None,
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is (`::ffff:169.254.169.254` is the metadata address).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The host (brackets off an IPv6 literal, lower case) and port (the scheme's default when not given) of `url`,
/// parsed by the same URL parser the target's HTTP client uses (`reqwest::Url`), so that the policy checks the host
/// a request would really go to (`http://169.254.169.254\@127.0.0.1/` is 169.254.169.254).
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let url = reqwest::Url::parse(url.trim()).ok()?;
    let port = url.port_or_known_default()?;
    let host = url.host_str()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    (!host.is_empty()).then_some((host, port))
}

/// One `--allow-target` entry: `ADDRESS`, `NETWORK/BITS`, `HOST`, each with an optional `:PORT` (`[v6]:PORT`).
fn parse_rule(raw: &str) -> Result<Rule, String> {
    let err = || {
        format!(
            "--allow-target {raw:?}: give a host name, an address or a network, with an optional port: \
             gpu-box, 10.0.0.5:8000, 10.0.0.0/8, [fd00::1]:8000"
        )
    };
    let raw = raw.trim();
    let raw = raw.split_once("://").map_or(raw, |(_, r)| r).trim_end_matches('/');
    if raw.is_empty() || raw.contains(['/', '@', '?', '#']) && !looks_like_cidr(raw) {
        return Err(err());
    }
    if let Ok(net) = raw.parse::<IpNet>() {
        return Ok(Rule::Net(net, None));
    }
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Ok(Rule::Net(IpNet::from(canonical(ip)), None));
    }
    let (host, port) = host_port(&format!("http://{raw}")).ok_or_else(err)?;
    let port = raw.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map(|_| port);
    let host = host.trim_matches(['[', ']']).to_owned();
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Rule::Net(IpNet::from(canonical(ip)), port));
    }
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')) {
        return Err(err());
    }
    Ok(Rule::Host(host, port))
}

fn looks_like_cidr(raw: &str) -> bool {
    raw.parse::<IpNet>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str]) -> Policy {
        let dir = tempfile::tempdir().unwrap();
        let config = PolicyConfig {
            dataset_dir: Some(dir.path().to_path_buf()),
            dataset_max_mb: Some(1),
            allow_targets: allow.iter().map(|s| s.to_string()).collect(),
        };
        Policy::new(&config).unwrap()
    }

    #[test]
    fn without_a_list_any_host_but_link_local_and_metadata() {
        let p = policy(&[]);
        for ok in
            ["http://127.0.0.1:8000", "http://[::1]:8000/", "https://pod-8000.proxy.runpod.net", "http://10.1.2.3"]
        {
            assert_eq!(p.check_target(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://169.254.169.254/latest/meta-data",
            "http://169.254.10.1:8000",
            "http://[fe80::1]:8000",
            "http://[::ffff:169.254.169.254]",
            "http://[fd00:ec2::254]",
            "http://0.0.0.0:8000",
            "http://user:pw@169.254.169.254:80",
            "http://169.254.169.254\\@127.0.0.1/",
        ] {
            let e = p.check_target(bad).unwrap_err();
            assert!(e.contains("--allow-target"), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn a_list_admits_only_its_hosts_networks_and_ports() {
        let p = policy(&["10.0.0.0/8", "gpu-box:8000", "[fd00::1]:9000", "169.254.169.254"]);
        assert_eq!(p.check_target("http://10.9.8.7:1234"), Ok(()));
        assert_eq!(p.check_target("http://GPU-box:8000/v1"), Ok(()));
        assert!(p.check_target_resolved("http://gpu-box:8001").await.is_err(), "another port, and no such name");
        assert!(policy(&["gpu-box"]).check_target("http://other-box").is_err(), "names only: decided without DNS");
        assert_eq!(p.check_target("http://[fd00::1]:9000"), Ok(()));
        assert!(p.check_target("http://[fd00::1]:9001").is_err());
        assert!(p.check_target("http://127.0.0.1:8000").unwrap_err().contains("not among"));
        assert_eq!(p.check_target("http://169.254.169.254"), Ok(()), "listed explicitly");
        let demo = policy(&["gpu-box"]).with_demo(Some("http://127.0.0.1:4000"));
        assert_eq!(demo.check_target("http://127.0.0.1:4000/"), Ok(()));
        assert!(demo.check_target("http://127.0.0.1:4001").is_err());
    }

    #[test]
    fn bad_rules_name_the_option() {
        for bad in ["", "http://a/b", "a b", "x@y"] {
            let e = Policy::new(&PolicyConfig { allow_targets: vec![bad.into()], ..Default::default() }).unwrap_err();
            assert!(e.contains("--allow-target"), "{bad}: {e}");
        }
        assert_eq!(parse_rule("http://gpu-box:8000/"), Ok(Rule::Host("gpu-box".into(), Some(8000))));
        assert_eq!(parse_rule("gpu-box"), Ok(Rule::Host("gpu-box".into(), None)));
    }

    #[tokio::test]
    async fn names_are_checked_by_what_they_resolve_to() {
        let p = policy(&[]);
        assert_eq!(p.check_target_resolved("http://localhost:8000").await, Ok(()));
        let listed = policy(&["127.0.0.0/8"]);
        assert_eq!(listed.check_target_resolved("http://localhost:8000").await, Ok(()));
        let other = policy(&["10.0.0.0/8"]);
        assert!(other.check_target_resolved("http://localhost:8000").await.is_err());
    }

    #[test]
    fn datasets_stay_inside_their_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ok.jsonl"), "{\"prompt\": \"hi\"}\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.jsonl"), "{\"prompt\": \"hunter2\"}\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path().join("secret.jsonl"), dir.path().join("link.jsonl")).unwrap();
        let config =
            PolicyConfig { dataset_dir: Some(dir.path().to_path_buf()), dataset_max_mb: Some(1), ..Default::default() };
        let p = Policy::new(&config).unwrap();
        let d = p.datasets();
        assert!(d.resolve("ok.jsonl").is_ok());
        assert!(d.resolve(&dir.path().join("ok.jsonl").display().to_string()).is_ok());
        let secret = outside.path().join("secret.jsonl").display().to_string();
        let missing = outside.path().join("missing.jsonl").display().to_string();
        let e1 = d.resolve(&secret).unwrap_err();
        let e2 = d.resolve(&missing).unwrap_err();
        assert_eq!(e1, e2, "outside the folder, existing and missing paths answer alike");
        assert!(e1.contains("dataset folder") && !e1.contains("hunter2"), "{e1}");
        assert_eq!(d.resolve("../x.jsonl").unwrap_err(), e1);
        assert_eq!(d.resolve("sub/../ok.jsonl").unwrap_err(), e1);
        #[cfg(unix)]
        assert_eq!(d.resolve("link.jsonl").unwrap_err(), e1, "a symlink out of the folder");
        assert!(d.resolve("sub").unwrap_err().contains("not a regular file"));
        assert!(d.resolve("nope.jsonl").unwrap_err().contains("no file"));
        std::fs::write(dir.path().join("big.jsonl"), vec![b'x'; (1 << 20) + 1]).unwrap();
        assert!(d.resolve("big.jsonl").unwrap_err().contains("at most 1 MiB"));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_device_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.jsonl");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        let config = PolicyConfig { dataset_dir: Some(dir.path().to_path_buf()), ..Default::default() };
        let p = Policy::new(&config).unwrap();
        if made.is_ok_and(|s| s.success()) {
            let e = p.datasets().read("fifo.jsonl").unwrap_err().to_string();
            assert!(e.contains("not a regular file"), "{e}");
        }
        let e = DatasetAccess::local().read("/dev/zero").unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
