//! Screen WebSocket sessions (`GET /ws/screens/{code}`). The one module that
//! uses `actix-web-actors` (deprecated upstream in favour of `actix-ws`; kept
//! at the customer's request and isolated here so a switch stays local).
//!
//! A [`ScreenSession`] is an actor per connection: on start it connects to its
//! [`ScreenActor`] (which sends the snapshot), forwards frames as text, pings
//! every [`HEARTBEAT`] and drops a client silent for [`CLIENT_TIMEOUT`].
//! `stopping()` is the one cleanup path. Client → server messages:
//! `{"type":"resync"}` (a gap was seen) and `{"type":"ping"}` (answered by
//! `{"type":"pong"}`, a control frame outside the sequence).

use crate::error::{Error, ErrorCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use triage_actors::screen::{Connect, Disconnect, Frame, Heartbeat, Resync, ScreenActor};

use crate::api::error::ApiError;
use crate::domain::ScreenCode;
use crate::engine::Engine;

/// How often the server pings.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// A client silent this long is dropped.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// One screen connection.
pub struct ScreenSession {
    id: u64,
    screen: Addr<ScreenActor>,
    last_heard: Instant,
}

impl Actor for ScreenSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.screen.do_send(Connect {
            session_id: self.id,
            recipient: ctx.address().recipient(),
        });
        ctx.run_interval(HEARTBEAT, |act, ctx| {
            if act.last_heard.elapsed() > CLIENT_TIMEOUT {
                tracing::info!(session = act.id, "screen session timed out");
                ctx.stop();
                return;
            }
            ctx.ping(b"");
        });
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        self.screen.do_send(Disconnect {
            session_id: self.id,
        });
        Running::Stop
    }
}

impl Handler<Frame> for ScreenSession {
    type Result = ();

    fn handle(&mut self, msg: Frame, ctx: &mut Self::Context) {
        match msg {
            Frame::Text(text) => ctx.text(&*text),
            Frame::Last(text) => {
                ctx.text(&*text);
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Restart,
                    description: Some("server restarting".into()),
                }));
                ctx.stop();
            }
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for ScreenSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        let Ok(msg) = msg else {
            ctx.stop();
            return;
        };
        match msg {
            ws::Message::Ping(p) => {
                self.last_heard = Instant::now();
                ctx.pong(&p);
            }
            ws::Message::Pong(_) => {
                self.last_heard = Instant::now();
                self.screen.do_send(Heartbeat);
            }
            ws::Message::Text(text) => {
                self.last_heard = Instant::now();
                let kind = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string));
                match kind.as_deref() {
                    Some("resync") => self.screen.do_send(Resync {
                        session_id: self.id,
                    }),
                    Some("ping") => {
                        // A control reply outside the sequence (no `seq`).
                        ctx.text(r#"{"type":"pong"}"#);
                        self.screen.do_send(Heartbeat);
                    }
                    _ => {}
                }
            }
            ws::Message::Close(reason) => {
                ctx.close(reason);
                ctx.stop();
            }
            ws::Message::Binary(_) | ws::Message::Continuation(_) | ws::Message::Nop => {}
        }
    }
}

/// Upgrades to a screen session; unknown screens get a JSON 404 first.
pub async fn screen_ws(
    req: HttpRequest,
    stream: web::Payload,
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, actix_web::Error> {
    let code = ScreenCode::parse(&path).map_err(ApiError::from)?;
    let Some(screen) = engine
        .directory
        .screens
        .get(code.as_str())
        .map(|a| a.clone())
    else {
        return Err(ApiError::from(Error::new(
            ErrorCode::ScreenNotFound,
            format!("no screen {code:?}"),
        ))
        .into());
    };
    let session = ScreenSession {
        id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
        screen,
        last_heard: Instant::now(),
    };
    ws::start(session, &req, stream)
}
