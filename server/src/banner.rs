//! The URLs `serve` prints at start: loopback (or the bound address), this machine's LAN addresses on a 0.0.0.0
//! bind, and the RunPod HTTPS proxy when `RUNPOD_POD_ID` is set — each under the base path.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The URLs to open the dashboard at, each with a note, best first: loopback (or the bound address), then `lan`
/// (this machine's addresses, when bound to all of them), then the RunPod HTTPS proxy
/// `https://{pod}-{port}.proxy.runpod.net` when `runpod_pod_id` is given. Each ends in `{base}/`.
pub fn open_urls(
    addr: SocketAddr,
    base: &str,
    lan: &[IpAddr],
    runpod_pod_id: Option<&str>,
) -> Vec<(String, &'static str)> {
    let port = addr.port();
    let http = |ip: IpAddr| match ip {
        IpAddr::V4(ip) => format!("http://{ip}:{port}{base}/"),
        IpAddr::V6(ip) => format!("http://[{ip}]:{port}{base}/"),
    };
    let mut out = Vec::new();
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => out.push((http(Ipv4Addr::LOCALHOST.into()), "this machine")),
        IpAddr::V6(ip) if ip.is_unspecified() => out.push((http(std::net::Ipv6Addr::LOCALHOST.into()), "this machine")),
        ip if ip.is_loopback() => out.push((http(ip), "this machine")),
        ip => out.push((http(ip), "this address")),
    }
    if addr.ip().is_unspecified() {
        out.extend(lan.iter().filter(|ip| !ip.is_loopback() && !ip.is_unspecified()).map(|ip| (http(*ip), "LAN")));
    }
    if let Some(pod) = runpod_pod_id
        .map(str::trim)
        .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        out.push((format!("https://{pod}-{port}.proxy.runpod.net{base}/"), "RunPod proxy"));
    }
    out
}

/// This machine's IPv4 addresses other than loopback, from the kernel's `/proc/net/fib_trie` (Linux); empty
/// where that file is not there.
pub fn lan_addresses() -> Vec<IpAddr> {
    std::fs::read_to_string("/proc/net/fib_trie").map(|t| local_addresses(&t)).unwrap_or_default()
}

/// The `/32 host LOCAL` entries of a `/proc/net/fib_trie` text, loopback left out, each once, in order.
pub fn local_addresses(fib_trie: &str) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in fib_trie.lines() {
        let line = line.trim();
        if let Some(ip) = line.strip_prefix("|-- ") {
            last = ip.trim().parse().ok();
        } else if line.starts_with("/32 host LOCAL") {
            if let Some(ip) = last.filter(|ip| !ip.is_loopback()).map(IpAddr::V4) {
                if !out.contains(&ip) {
                    out.push(ip);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIB_TRIE: &str = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 10.1.0.0/16 2 0 2\n        |-- 10.1.2.3\n           /32 host LOCAL\n        |-- 10.1.255.255\n           /32 link BROADCAST\n     +-- 127.0.0.0/8 2 0 2\n        |-- 127.0.0.1\n           /32 host LOCAL\nLocal:\n  +-- 0.0.0.0/0 3 0 5\n        |-- 10.1.2.3\n           /32 host LOCAL\n        |-- 172.17.0.1\n           /32 host LOCAL\n";

    #[test]
    fn lan_addresses_come_from_the_local_host_entries() {
        let ips: Vec<String> = local_addresses(FIB_TRIE).iter().map(ToString::to_string).collect();
        assert_eq!(ips, ["10.1.2.3", "172.17.0.1"]);
        assert!(local_addresses("").is_empty());
    }

    #[test]
    fn a_loopback_bind_offers_loopback_only() {
        let open = open_urls("127.0.0.1:3000".parse().unwrap(), "", &["10.1.2.3".parse().unwrap()], None);
        assert_eq!(open, vec![("http://127.0.0.1:3000/".to_owned(), "this machine")]);
    }

    #[test]
    fn a_public_bind_offers_lan_and_the_runpod_proxy_under_the_base_path() {
        let lan = ["10.1.2.3".parse().unwrap(), "127.0.0.1".parse().unwrap()];
        let open = open_urls("0.0.0.0:8080".parse().unwrap(), "/pod", &lan, Some("abc123xyz"));
        let urls: Vec<&str> = open.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(
            urls,
            ["http://127.0.0.1:8080/pod/", "http://10.1.2.3:8080/pod/", "https://abc123xyz-8080.proxy.runpod.net/pod/"]
        );
        assert_eq!(open[2].1, "RunPod proxy");
        // Without RUNPOD_POD_ID (or with something that is no pod id) there is no proxy line.
        assert_eq!(open_urls("0.0.0.0:8080".parse().unwrap(), "", &[], Some("a b")).len(), 1);
        assert_eq!(open_urls("[::]:3000".parse().unwrap(), "", &[], None)[0].0, "http://[::1]:3000/");
    }
}
