//! The HIS integration guide (`docs/his-integration.md`) followed
//! literally from a blank start: section 一's command creates the client
//! (run as written, with this server's configuration and database filled
//! in), section 三's Python client is taken from the document as it is, and
//! every Python example of section 四 runs in order with that key against a
//! real server. The test fills in only what the guide leaves to the reader:
//! the server's address, the key, the instant it runs at (the app's named
//! clock instead of `datetime.now`) and the report's picture. What the guide
//! says each call answers is what it answers, the CSV included.

use serde_json::Value;

use crate::common::{note_secret, spawn_app, triage_cli};

const GUIDE: &str = include_str!("../../docs/his-integration.md");

/// The text of the section whose heading starts with `heading`, up to the
/// next heading of the same level.
fn section(heading: &str) -> &'static str {
    let after = GUIDE
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("the guide has no section {heading}"));
    after.split("\n## ").next().unwrap_or(after)
}

/// The fenced blocks of `lang` in `text`, in order (a block indented in
/// a list item loses its indentation).
fn blocks(text: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<&str>)> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        match open.as_mut() {
            None if line.trim() == format!("```{lang}") => open = Some((indent, Vec::new())),
            None => {}
            Some((_, lines)) if line.trim() == "```" => {
                out.push(lines.join("\n"));
                open = None;
            }
            Some((at, lines)) => lines.push(line.get(*at..).unwrap_or(line.trim_start())),
        }
    }
    out
}

/// Section 一's command line, as words (continuation lines joined), with
/// `sudo -u triage` left out (the test is the service's user).
fn client_add_command() -> Vec<String> {
    let sh = blocks(section("## 一、接入准备"), "sh");
    let line = sh
        .iter()
        .find(|b| b.contains("client add"))
        .unwrap_or_else(|| panic!("section 一 shows no `triage client add`"))
        .replace("\\\n", " ");
    let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let start = words
        .iter()
        .position(|w| w == "client")
        .unwrap_or_else(|| panic!("no `client` in {line}"));
    words[start..].to_vec()
}

/// Replaces the value after `flag` in `args`.
fn fill(args: &mut [String], flag: &str, value: &str) {
    let i = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("the guide's command has no {flag}: {args:?}"));
    args[i + 1] = value.to_string();
}

/// Runs the examples with every call recorded: section, method, path,
/// status, and the body or the error's code and field.
const DRIVER_HEAD: &str = r#"
import json, sys, time
import his_client
LOG = []
SECTION = [""]
_call = his_client.Triage.call
def recorded(self, method, path, payload=None):
    try:
        status, body = _call(self, method, path, payload)
        LOG.append({"section": SECTION[0], "method": method, "path": path, "status": status, "body": body})
        return status, body
    except his_client.TriageError as e:
        LOG.append({"section": SECTION[0], "method": method, "path": path, "status": e.status,
                    "code": e.code, "field": e.field})
        raise
his_client.Triage.call = recorded
"#;

/// The smallest PNG there is (1×1, one grey pixel): the report's picture.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b,
    0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x68, 0x00, 0x00, 0x00,
    0x82, 0x00, 0x81, 0x4c, 0x17, 0xd7, 0xdf, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

#[actix_web::test]
async fn the_guide_followed_literally_from_a_blank_start_makes_every_call_it_shows() {
    let app = spawn_app().await;

    // 一: the client, made by the guide's own command.
    let mut args = client_add_command();
    fill(&mut args, "--config", "config/demo-hospital.toml");
    fill(&mut args, "--database-url", &app.db.url);
    let os: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    // The server's own key file, as on the server itself.
    let key_file = app.hospital.security.server_key_file.clone();
    let (code, out) = triage_cli(&os, &[("TRIAGE_SERVER_KEY_FILE", &key_file)]);
    assert_eq!(code, 0, "section 一's command: {out}");
    let key = out
        .split_whitespace()
        .find(|w| w.starts_with("tk_"))
        .unwrap_or_else(|| panic!("no key printed: {out}"))
        .to_string();
    note_secret(&key);
    app.auth.reload().await.unwrap_or_else(|e| panic!("{e}"));

    // 三 and 四: the client and every example, the reader's parts filled in.
    let client = blocks(section("## 三、Python 客户端"), "python");
    assert_eq!(client.len(), 1, "section 三 holds one client");
    let examples = section("## 四、接口与示例");
    let setup = blocks(examples, "python")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("section 四 has no set-up block"));
    for reader_part in [
        "\"https://triage.hospital.local\"",
        "\"tk_…\"",
        "datetime.now(CN)",
        "signed=True)",
    ] {
        assert!(setup.contains(reader_part), "the set-up has {reader_part}");
    }
    let now = app.now();
    let setup = setup
        .replace(
            "\"https://triage.hospital.local\"",
            &format!("{:?}", app.base),
        )
        .replace("\"tk_…\"", &format!("{key:?}"))
        .replace(
            "datetime.now(CN)",
            &format!("datetime.fromisoformat({:?})", now.to_rfc3339()),
        )
        // The signature's clock is the app's, running from its instant.
        .replace(
            "signed=True)",
            &format!(
                "signed=True, clock=lambda t0=time.monotonic(): {} + time.monotonic() - t0)",
                now.timestamp()
            ),
        );
    let mut script = String::from(DRIVER_HEAD);
    script.push_str("SECTION[0] = 'set-up'\n");
    script.push_str(&setup);
    script.push('\n');
    for part in examples.split("\n### ").skip(1) {
        let title = part.split_whitespace().next().unwrap_or_default();
        for block in blocks(part, "python") {
            script.push_str(&format!("SECTION[0] = {title:?}\n{block}\n"));
        }
    }
    script.push_str("print('LOG ' + json.dumps(LOG, ensure_ascii=False))\n");

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("his_client.py"), &client[0]).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("guide.py"), &script).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("axial.png"), PNG).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg("guide.py")
            .current_dir(path)
            .output()
            .unwrap_or_else(|e| panic!("python3: {e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the guide's examples stopped:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log: Vec<Value> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("LOG "))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .unwrap_or_else(|| panic!("no log: {stdout}"));

    // What the guide says each call answers, in order.
    let want: &[(&str, &str, u16, &str)] = &[
        ("1.", "PUT", 201, "created"),
        ("1.", "PUT", 200, "unchanged"),
        ("1.", "PUT", 422, "invalid_sex"),
        ("2.", "POST", 200, ""),
        ("2.", "POST", 200, ""),
        ("3.", "PUT", 201, "created"),
        ("3.", "DELETE", 200, ""),
        ("3.", "DELETE", 200, ""),
        ("3a.", "PUT", 201, "created"),
        ("3a.", "PUT", 200, "replaced"),
        ("3a.", "PUT", 200, "superseded"),
        ("3a.", "POST", 409, "too_early"),
        ("3a.", "DELETE", 200, "cancelled"),
        ("4.", "PUT", 200, ""),
        ("4.", "GET", 200, ""),
        ("5.", "PUT", 200, ""),
        ("6.", "PUT", 201, "created"),
        ("6.", "GET", 200, ""),
        ("7.", "GET", 200, ""),
        ("7.", "GET", 200, ""),
    ];
    let seen: Vec<String> = log
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {}",
                c["section"].as_str().unwrap_or_default(),
                c["method"].as_str().unwrap_or_default(),
                c["status"],
                c["body"]["outcome"]
                    .as_str()
                    .or(c["code"].as_str())
                    .unwrap_or_default()
            )
        })
        .collect();
    let expected: Vec<String> = want
        .iter()
        .map(|(s, m, st, what)| format!("{s} {m} {st} {what}"))
        .collect();
    // Outcomes the guide does not name are compared by status only.
    let shown: Vec<String> = seen
        .iter()
        .zip(want.iter())
        .map(|(s, (_, _, _, what))| {
            if what.is_empty() {
                s.rsplit_once(' ')
                    .map_or(s.clone(), |(h, _)| format!("{h} "))
            } else {
                s.clone()
            }
        })
        .collect();
    assert_eq!(shown, expected, "every call the guide shows, as it says");
    assert_eq!(seen.len(), expected.len(), "{seen:#?}");

    let call = |i: usize| &log[i];
    assert_eq!(call(2)["field"], "patient.sex");
    let ticket = call(3)["body"]["ticket_no"].clone();
    assert!(ticket.is_string(), "{}", call(3));
    assert_eq!(
        call(4)["body"]["ticket_no"],
        ticket,
        "the same ticket again"
    );
    assert_eq!(
        (
            call(6)["body"]["changed"].as_bool(),
            call(7)["body"]["changed"].as_bool()
        ),
        (Some(true), Some(false)),
        "a cancellation, then one that changes nothing"
    );
    assert!(call(14)["body"]["counts"].is_object());
    assert_eq!(call(17)["body"]["reports"][0]["images"][0]["title"], "轴位");
    // The CSV, as text without its BOM: a header Excel shows in Chinese.
    let csv = call(18)["body"].as_str().unwrap_or_default();
    assert!(!csv.starts_with('\u{feff}'), "the client removed the BOM");
    assert!(csv.lines().next().is_some_and(|h| h.contains(',')), "{csv}");
    assert!(call(19)["body"].is_object());
}
