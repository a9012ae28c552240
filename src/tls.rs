//! HTTPS served directly (rustls, ADR 0008): the certificate chain and
//! private key read from PEM files into a server configuration, and the
//! optional plain-HTTP listener that sends every request to HTTPS.
//! Hospital networks often have no reverse proxy; where one exists,
//! `docs/install.md` shows it as the alternative.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Where the certificate and key are, and where plain HTTP is redirected
/// from.
#[derive(Clone, Debug)]
pub struct Tls {
    /// The certificate chain, PEM: the server's certificate first, then
    /// the intermediates.
    pub cert: PathBuf,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// `host:port` of a plain-HTTP listener that answers every request
    /// with a permanent redirect to the same path over HTTPS.
    pub redirect_bind: Option<String>,
}

fn read_error(what: &str, path: &Path, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("TLS {what} {}: {e}", path.display())
}

/// The rustls configuration for `tls`, with a clear error naming the file
/// that is missing, unreadable or not what it should be.
pub fn server_config(tls: &Tls) -> anyhow::Result<rustls::ServerConfig> {
    let certs = CertificateDer::pem_file_iter(&tls.cert)
        .map_err(|e| read_error("certificate", &tls.cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_error("certificate", &tls.cert, e))?;
    if certs.is_empty() {
        return Err(read_error(
            "certificate",
            &tls.cert,
            "no CERTIFICATE block in the file",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| read_error("key", &tls.key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| anyhow::anyhow!("TLS certificate and key do not fit together: {e}"))?;
    Ok(config)
}

/// The plain-HTTP listener on `bind`: a GET or HEAD answers a 308 to the
/// same host, path and query over HTTPS on `https_port`; any other method
/// is refused (400) with the HTTPS address. Answers the server (not yet
/// running) and its port.
pub fn redirect_server(
    listener: std::net::TcpListener,
    https_port: u16,
) -> anyhow::Result<(actix_web::dev::Server, u16)> {
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(https_port))
            .default_service(web::to(redirect))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((server, port))
}

/// Binds the plain-HTTP address early, so a port in use stops the start
/// before anything else is started.
pub fn redirect_listener(bind: &str) -> anyhow::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(bind)
        .map_err(|e| anyhow::anyhow!("HTTP redirect listener {bind}: {e}"))
}

async fn redirect(req: HttpRequest, https_port: web::Data<u16>) -> HttpResponse {
    let target = https_url(
        req.connection_info().host(),
        **https_port,
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/"),
    );
    // Pages and reads follow the redirect; a write (a HIS message) sent in
    // clear text is refused, so the sender notices and fixes its address
    // rather than sending patients' data unencrypted on every call.
    if req.method() != actix_web::http::Method::GET && req.method() != actix_web::http::Method::HEAD
    {
        return HttpResponse::BadRequest().json(serde_json::json!({"error": {
            "code": "bad_request",
            "message": format!("this server takes writes over HTTPS only: {target}"),
        }}));
    }
    HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, target))
        .finish()
}

/// `https://host[:port]/path`: the host named by the request without its
/// port (an IPv6 address keeps its brackets), the port left out when 443.
pub fn https_url(host: &str, port: u16, path_and_query: &str) -> String {
    let name = if let Some(end) = host.strip_prefix('[').and_then(|h| h.find(']')) {
        &host[..end + 2]
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    if port == 443 {
        format!("https://{name}{path_and_query}")
    } else {
        format!("https://{name}:{port}{path_and_query}")
    }
}

#[cfg(test)]
mod tests {
    use super::https_url;

    #[test]
    fn the_redirect_keeps_host_path_and_query_and_names_the_port() {
        assert_eq!(
            https_url("triage.hosp.local:8080", 8443, "/screens/A?x=1"),
            "https://triage.hosp.local:8443/screens/A?x=1"
        );
        assert_eq!(https_url("10.1.2.3", 443, "/"), "https://10.1.2.3/");
        assert_eq!(
            https_url("[fe80::1]:80", 8443, "/staff"),
            "https://[fe80::1]:8443/staff"
        );
    }
}
