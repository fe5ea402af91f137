//! Who is asking: the client's IP address as the limiters key it (the TCP peer, or with `--trust-proxy` what the
//! trusted proxies say). Shared by the token gate (`login`) and share-link lookups (`shares`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, Request},
    http::HeaderMap,
};

use crate::auth::{Access, ClientKey};
use crate::state::AppState;

/// The client's IP address: the TCP peer, or with `--trust-proxy` what the trusted proxies say
/// ([`Access::client_ip`]); unspecified when the server was not started with connection info.
pub struct ClientIp(pub IpAddr);

impl axum::extract::FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(ip_of(&state.access, parts.extensions.get::<ConnectInfo<SocketAddr>>(), &parts.headers)))
    }
}

pub(super) fn client_key(access: &Access, req: &Request) -> ClientKey {
    ClientKey::of(ip_of(access, req.extensions().get::<ConnectInfo<SocketAddr>>(), req.headers()))
}

fn ip_of(access: &Access, info: Option<&ConnectInfo<SocketAddr>>, headers: &HeaderMap) -> IpAddr {
    let peer = info.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    access.client_ip(peer, forwarded)
}
