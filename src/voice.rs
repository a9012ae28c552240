//! Server-side audio for the voice (`GET /api/v1/voice?text=…` → WAV), for
//! screens without a local Chinese speech voice: offline on the hospital LAN.
//!
//! If `espeak-ng` is installed on the server, it speaks the text with its
//! Mandarin voice (`cmn`); otherwise the answer is a two-tone chime so a call
//! is never silent. Answers are cached per text. Header `X-Triage-Voice`
//! says which (`espeak-ng` or `chime`). Only short announcement-like text is
//! accepted; it carries no more of a name than the screen was sent.

use std::sync::OnceLock;
use triage_ground::error::{Error, ErrorCode};

use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use dashmap::DashMap;
use serde::Deserialize;

use crate::api::error::ApiError;

const MAX_CHARS: usize = 80;
const CACHE_ENTRIES: usize = 2000;

#[derive(Deserialize)]
pub struct VoiceQuery {
    text: String,
}

fn cache() -> &'static DashMap<String, (Bytes, &'static str)> {
    static CACHE: OnceLock<DashMap<String, (Bytes, &'static str)>> = OnceLock::new();
    CACHE.get_or_init(DashMap::new)
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || c == ' '
        || c == '*'
        || ('\u{4e00}'..='\u{9fff}').contains(&c)
        || "，。、·-".contains(c)
}

/// Whether espeak-ng is on this server (checked once).
pub fn espeak_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        std::process::Command::new("espeak-ng")
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    })
}

pub async fn speak(q: web::Query<VoiceQuery>) -> Result<HttpResponse, ApiError> {
    let text = q.into_inner().text;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_CHARS || !text.chars().all(allowed) {
        return Err(Error::field(
            ErrorCode::InvalidVoiceText,
            "text",
            format!("1-{MAX_CHARS} characters of Chinese, letters, digits and spaces"),
        )
        .into());
    }
    if let Some(hit) = cache().get(text) {
        return Ok(wav(hit.0.clone(), hit.1));
    }
    let (audio, source) = match synthesize(text).await {
        Some(a) => (a, "espeak-ng"),
        None => (Bytes::from(chime()), "chime"),
    };
    if cache().len() >= CACHE_ENTRIES {
        cache().clear();
    }
    cache().insert(text.to_string(), (audio.clone(), source));
    Ok(wav(audio, source))
}

fn wav(body: Bytes, source: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("audio/wav")
        .insert_header(("X-Triage-Voice", source))
        .insert_header(("Cache-Control", "max-age=3600"))
        .body(body)
}

async fn synthesize(text: &str) -> Option<Bytes> {
    if !espeak_available() {
        return None;
    }
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::process::Command::new("espeak-ng")
            .args(["-v", "cmn", "-s", "150", "--stdout", text])
            .output(),
    )
    .await
    .ok()?
    .ok()?;
    (out.status.success() && out.stdout.len() > 44).then(|| Bytes::from(out.stdout))
}

/// A two-tone chime (叮咚), 16 kHz mono 16-bit PCM WAV.
pub fn chime() -> Vec<u8> {
    let rate = 16_000u32;
    let mut samples: Vec<i16> = Vec::new();
    for (freq, secs) in [(784.0f32, 0.35f32), (622.0, 0.6)] {
        let n = (rate as f32 * secs) as usize;
        for i in 0..n {
            let t = i as f32 / rate as f32;
            let env = (-4.0 * t / secs).exp();
            let v = (2.0 * std::f32::consts::PI * freq * t).sin() * env * 0.5;
            samples.push((v * i16::MAX as f32) as i16);
        }
    }
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}
