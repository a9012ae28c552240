//! The demo's credentials file: where it lies beside the database and
//! what it keeps (the demo's accounts' passwords and the screens' and
//! kiosks' device tokens, made by `triage serve --demo`), so that a restart
//! prints the same ones.

use std::path::PathBuf;

/// Where the demo keeps its accounts' passwords and screens' tokens: next
/// to the SQLite file, or in `data/`.
pub fn demo_file(database_url: &str) -> PathBuf {
    match database_url.strip_prefix("sqlite://") {
        Some(p) => std::path::Path::new(p)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("data"), std::path::Path::to_path_buf)
            .join("demo-credentials.json"),
        // One file per database, so demos on two databases keep theirs.
        None => PathBuf::from("data").join(format!(
            "demo-credentials-{}.json",
            &triage_ground::secret::sha256_hex(database_url.as_bytes())[..8]
        )),
    }
}

/// The demo hospital's accounts and screen tokens.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct DemoAccess {
    /// (code, role, password, scope)
    pub accounts: Vec<(String, String, String, Vec<String>)>,
    /// (screen, token)
    pub screens: Vec<(String, String)>,
    /// (kiosk, token)
    #[serde(default)]
    pub kiosks: Vec<(String, String)>,
}
