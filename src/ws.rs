//! WebSocket sessions: screens (`GET /ws/screens/{code}`), staff pages
//! (`GET /ws/staff`) and patient pages (`GET /p/{token}/live`, a
//! [`PatientSession`]: the link admits it; it watches as a staff page does
//! and sends only the visit's own view). The one module that uses `actix-web-actors`
//! (deprecated upstream in favour of `actix-ws`; kept at the customer's
//! request and isolated here so a switch stays local).
//!
//! A [`ScreenSession`] is an actor per connection. A screen is a registered
//! device: its first message is `{"type":"hello","token":"…"}` with its
//! device token (the screen page takes it from its URL). Until a valid
//! token arrives the socket gets no data; a wrong, revoked or missing one
//! (after [`HELLO_TIMEOUT`]) gets `{"type":"unauthorized"}` and the socket
//! closes (policy violation). Once admitted it connects to its
//! [`ScreenActor`] (which sends the snapshot), forwards frames as text, pings
//! every [`HEARTBEAT`] (re-checking that its token is still live) and drops
//! a client silent for [`CLIENT_TIMEOUT`]. `stopping()` is the one cleanup
//! path. Other client → server messages: `{"type":"resync"}` (a gap was
//! seen) and `{"type":"ping"}` (answered by `{"type":"pong"}`, a control
//! frame outside the sequence).
//!
//! Every text frame a socket sends is a variant of its channel's one frame
//! type, [`ScreenFrame`] (screens and kiosks) or [`StaffFrame`] (staff
//! pages); nothing here writes JSON by hand.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use triage_ground::error::{Error, ErrorCode};

use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use futures_util::StreamExt;
use triage_actors::board::frame::ScreenFrame;
use triage_actors::screen::{Connect, Disconnect, Frame, Heartbeat, Resync, ScreenActor};

use crate::api::error::ApiError;
use crate::auth::Auth;
use crate::engine::Engine;
use crate::staff::StaffFrame;
use triage_ground::ids::ScreenCode;

/// How often the server pings.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// A client silent this long is dropped.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);
/// A socket that has not shown a valid token this long is closed.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// What a page sends.
#[derive(serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    /// A screen shows its device token (the first message it sends).
    Hello {
        #[serde(default)]
        token: String,
    },
    /// A gap was seen: a fresh snapshot, please.
    Resync,
    Ping,
    /// Anything else, or no JSON at all.
    #[serde(other)]
    Other,
}

impl ClientMessage {
    fn read(text: &str) -> ClientMessage {
        serde_json::from_str(text).unwrap_or(ClientMessage::Other)
    }
}

/// What a page's socket said, once the socket's own business is done
/// (a ping answered, a close returned, the time it was last heard kept).
enum Heard {
    Nothing,
    Pong,
    Said(ClientMessage),
}

/// Reads one socket message for any session: every channel answers pings,
/// closes and errors alike; only what a page says differs.
fn heard<A>(
    msg: Result<ws::Message, ws::ProtocolError>,
    last_heard: &mut Instant,
    ctx: &mut ws::WebsocketContext<A>,
) -> Heard
where
    A: Actor<Context = ws::WebsocketContext<A>>,
{
    let Ok(msg) = msg else {
        ctx.stop();
        return Heard::Nothing;
    };
    match msg {
        ws::Message::Ping(p) => {
            *last_heard = Instant::now();
            ctx.pong(&p);
            Heard::Nothing
        }
        ws::Message::Pong(_) => {
            *last_heard = Instant::now();
            Heard::Pong
        }
        ws::Message::Text(text) => {
            *last_heard = Instant::now();
            Heard::Said(ClientMessage::read(&text))
        }
        ws::Message::Close(reason) => {
            ctx.close(reason);
            ctx.stop();
            Heard::Nothing
        }
        ws::Message::Binary(_) | ws::Message::Continuation(_) | ws::Message::Nop => Heard::Nothing,
    }
}

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// One screen connection.
pub struct ScreenSession {
    id: u64,
    code: String,
    screen: Addr<ScreenActor>,
    auth: Auth,
    /// The digest of the token this socket was admitted with.
    admitted: Option<String>,
    last_heard: Instant,
    /// The timer that refuses a socket with no hello in time; cancelled
    /// once admitted (nothing stays armed for the socket's life).
    hello_timer: Option<SpawnHandle>,
}

impl ScreenSession {
    fn refuse(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        tracing::warn!(screen = %self.code, session = self.id, "screen socket refused: no valid device token");
        self.auth.note_screen_refused(&self.code);
        ctx.text(&*ScreenFrame::Unauthorized.encode());
        ctx.close(Some(ws::CloseReason {
            code: ws::CloseCode::Policy,
            description: Some("device token required".into()),
        }));
        ctx.stop();
    }

    fn hello(&mut self, token: &str, ctx: &mut ws::WebsocketContext<Self>) {
        if self.admitted.is_some() {
            return;
        }
        if !self.auth.screen_token_ok(&self.code, token) {
            self.refuse(ctx);
            return;
        }
        self.admitted = Some(triage_ground::secret::sha256_hex(token.as_bytes()));
        if let Some(timer) = self.hello_timer.take() {
            ctx.cancel_future(timer);
        }
        self.screen.do_send(Connect {
            session_id: self.id,
            recipient: ctx.address().recipient(),
        });
    }
}

impl Actor for ScreenSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.hello_timer = Some(ctx.run_later(HELLO_TIMEOUT, |act, ctx| {
            if act.admitted.is_none() {
                act.refuse(ctx);
            }
        }));
        ctx.run_interval(HEARTBEAT, |act, ctx| {
            if let Some(digest) = &act.admitted {
                if !act.auth.screen_digest_ok(&act.code, digest) {
                    act.refuse(ctx);
                    return;
                }
            }
            if act.last_heard.elapsed() > CLIENT_TIMEOUT {
                tracing::info!(session = act.id, "screen session timed out");
                ctx.stop();
                return;
            }
            ctx.ping(b"");
        });
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        if self.admitted.is_some() {
            self.screen.do_send(Disconnect {
                session_id: self.id,
            });
        }
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
            Frame::Refused(text) => {
                tracing::info!(screen = %self.code, session = self.id, "screen socket closed: the screen was retired");
                self.admitted = None;
                ctx.text(&*text);
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Policy,
                    description: Some("screen retired".into()),
                }));
                ctx.stop();
            }
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for ScreenSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match heard(msg, &mut self.last_heard, ctx) {
            Heard::Nothing => {}
            Heard::Pong => {
                if self.admitted.is_some() {
                    self.screen.do_send(Heartbeat);
                }
            }
            Heard::Said(ClientMessage::Hello { token }) => self.hello(&token, ctx),
            Heard::Said(_) if self.admitted.is_none() => self.refuse(ctx),
            Heard::Said(ClientMessage::Resync) => self.screen.do_send(Resync {
                session_id: self.id,
            }),
            Heard::Said(ClientMessage::Ping) => {
                // A control reply outside the sequence (no `seq`).
                ctx.text(&*ScreenFrame::Pong.encode());
                self.screen.do_send(Heartbeat);
            }
            Heard::Said(ClientMessage::Other) => {}
        }
    }
}

/// One staff page's connection (the nurse console, the doctor caller).
///
/// The session cookie of the page's login admits it at the upgrade (no
/// cookie or an ended session: 401; a password still to change: 403). It
/// watches what [`crate::staff::Watch`] gives the staff member, sends a
/// snapshot once every view has arrived, then each newer view as a `queue`
/// or `room` frame with the next `seq`; `{"type":"resync"}` gets a new
/// snapshot, `{"type":"ping"}` a `pong`. Every [`HEARTBEAT`] it re-checks
/// the session without counting that as a use: a session that ended
/// (logout, idle, account disabled or its scope changed) gets
/// `{"type":"signed_out"}` and the socket closes.
pub struct StaffSession {
    id: u64,
    staff: crate::auth::policy::Staff,
    /// The SHA-256 of the session id (never the id itself).
    session: String,
    watch: crate::staff::Watch,
    engine: Engine,
    auth: Auth,
    latest: crate::staff::Latest,
    seq: u64,
    /// The first snapshot went out (updates before it only refresh
    /// `latest`).
    ready: bool,
    last_heard: Instant,
}

impl StaffSession {
    fn send_snapshot(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        self.seq += 1;
        let text = crate::staff::snapshot(
            self.seq,
            &self.staff,
            &self.watch,
            &self.latest,
            &self.engine,
        );
        ctx.text(text);
    }

    fn sign_out(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        tracing::info!(staff = %self.staff.code, session = self.id, "staff page closed: session ended");
        ctx.text(StaffFrame::SignedOut.encode());
        ctx.close(Some(ws::CloseReason {
            code: ws::CloseCode::Policy,
            description: Some("session ended".into()),
        }));
        ctx.stop();
    }

    /// Whether the session is still live with the same role and scope.
    fn still_admitted(&self) -> bool {
        match self.auth.session_alive(&self.session) {
            Ok(crate::auth::policy::Principal::Staff { staff, must_change }) => {
                !must_change && staff == self.staff
            }
            _ => false,
        }
    }
}

impl Actor for StaffSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Watch first, then ask: a change between the two arrives as an
        // update with a version the snapshot already has, or a newer one.
        self.engine.directory().watch_staff(
            &self.watch.keys(),
            triage_actors::staff::StaffWatcher {
                id: self.id,
                recipient: ctx.address().recipient(),
            },
        );
        let (engine, watch) = (self.engine.clone(), self.watch.clone());
        ctx.wait(
            async move { crate::staff::fetch(&engine, &watch).await }
                .into_actor(self)
                .map(|fetched, act, ctx| {
                    for v in fetched.queues.into_values() {
                        act.latest.queue(v);
                    }
                    for v in fetched.rooms.into_values() {
                        act.latest.room(v);
                    }
                    act.ready = true;
                    act.send_snapshot(ctx);
                }),
        );
        ctx.run_interval(HEARTBEAT, |act, ctx| {
            if !act.still_admitted() {
                act.sign_out(ctx);
                return;
            }
            if act.last_heard.elapsed() > CLIENT_TIMEOUT {
                tracing::info!(session = act.id, "staff session timed out");
                ctx.stop();
                return;
            }
            ctx.ping(b"");
        });
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        self.engine
            .directory()
            .unwatch_staff(&self.watch.keys(), self.id);
        Running::Stop
    }
}

impl Handler<triage_actors::staff::StaffUpdate> for StaffSession {
    type Result = ();

    fn handle(&mut self, msg: triage_actors::staff::StaffUpdate, ctx: &mut Self::Context) {
        use triage_actors::staff::StaffUpdate;
        let text = match msg {
            StaffUpdate::Queue(view) => {
                if !self.latest.queue(view.clone()) || !self.ready {
                    return;
                }
                crate::staff::queue_update(self.seq + 1, &view, &self.engine)
            }
            StaffUpdate::Room(view) => {
                if !self.latest.room(view.clone()) || !self.ready {
                    return;
                }
                crate::staff::room_update(self.seq + 1, &view, &self.engine)
            }
            StaffUpdate::Restarting => {
                ctx.text(StaffFrame::restarting().encode());
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Restart,
                    description: Some("server restarting".into()),
                }));
                ctx.stop();
                return;
            }
        };
        if let Some(text) = text {
            self.seq += 1;
            ctx.text(text);
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for StaffSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match heard(msg, &mut self.last_heard, ctx) {
            Heard::Said(ClientMessage::Resync) if self.ready => self.send_snapshot(ctx),
            Heard::Said(ClientMessage::Ping) => ctx.text(StaffFrame::Pong.encode()),
            _ => {}
        }
    }
}

/// The departments a staff page asks for (`?departments=NK,WK`).
#[derive(serde::Deserialize)]
pub struct StaffQuery {
    departments: Option<String>,
}

/// Upgrades to a staff page's session: the login's cookie admits it.
pub async fn staff_ws(
    req: HttpRequest,
    stream: web::Payload,
    query: web::Query<StaffQuery>,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, actix_web::Error> {
    use crate::auth::policy::Principal;
    origin_allowed(&req, &engine.hospital().allowed_origins).map_err(ApiError::from)?;
    let Some(cookie) = req.cookie(crate::auth::SESSION_COOKIE) else {
        return Err(ApiError::from(Error::new(
            ErrorCode::Unauthenticated,
            "log in first: the staff channel needs a staff session",
        ))
        .into());
    };
    let principal = auth.session(cookie.value()).map_err(ApiError::from)?;
    let Principal::Staff { staff, must_change } = principal else {
        return Err(ApiError::from(Error::new(ErrorCode::Forbidden, "staff only")).into());
    };
    if must_change {
        return Err(ApiError::from(Error::new(
            ErrorCode::PasswordChangeRequired,
            "change your password first",
        ))
        .into());
    }
    let asked = crate::staff::asked_departments(query.departments.as_deref());
    let watch = crate::staff::Watch::of(&staff, engine.hospital(), asked.as_deref())
        .map_err(ApiError::from)?;
    let session = StaffSession {
        id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
        staff,
        session: triage_ground::secret::sha256_hex(cookie.value().as_bytes()),
        watch,
        engine: engine.get_ref().clone(),
        auth: auth.get_ref().clone(),
        latest: crate::staff::Latest::default(),
        seq: 0,
        ready: false,
        last_heard: Instant::now(),
    };
    let stream = guarded(stream);
    ws::start(session, &req, stream)
}

/// Upgrades to a screen session; unknown screens get a JSON 404 first.
pub async fn screen_ws(
    req: HttpRequest,
    stream: web::Payload,
    path: web::Path<String>,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, actix_web::Error> {
    let code = ScreenCode::parse(&path).map_err(ApiError::from)?;
    origin_allowed(&req, &engine.hospital().allowed_origins).map_err(ApiError::from)?;
    let Some(screen) = engine
        .directory()
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
        code: code.as_str().to_string(),
        screen,
        auth: auth.get_ref().clone(),
        admitted: None,
        last_heard: Instant::now(),
        hello_timer: None,
    };
    let stream = guarded(stream);
    Ok(ws::handshake(&req)?.streaming(Paged::new(ws::WebsocketContext::create(session, stream))))
}

/// How often a patient session looks for a new wait forecast.
const WAITS_EVERY: Duration = Duration::from_millis(500);

/// The first pause before a patient session reads its row again.
const RETRY_FIRST: Duration = Duration::from_millis(200);

/// One patient page (`/p/{token}/live`): it watches the visit's queue and
/// rooms as a staff page does, and sends only the visit's own view
/// ([`crate::patient`]), when it changed.
pub struct PatientSession {
    id: u64,
    engine: Engine,
    watched: crate::patient::Watched,
    seq: u64,
    /// The last view sent (a change that leaves it alone sends nothing).
    sent: Option<crate::patient::PatientView>,
    /// A re-read of the row is under way.
    rereading: bool,
    /// An update came while the row was being read again.
    pending: bool,
    /// The pause before reading again while row and views disagree.
    retry: Duration,
    /// The wait forecasts' version last looked at.
    waits_seen: u64,
    last_heard: Instant,
}

impl PatientSession {
    /// Sends the view if it changed (or `always`); re-reads the row when
    /// the views no longer say where the visit is.
    fn publish(&mut self, always: bool, ctx: &mut ws::WebsocketContext<Self>) {
        if !self.watched.open_now(&self.engine) {
            if let Some(view) = self.watched.view(&self.engine) {
                self.send(view, always, ctx);
            }
            ctx.text(
                crate::patient::PatientFrame::Gone {
                    message: crate::patient::LINK_GONE.into(),
                }
                .encode(),
            );
            ctx.close(Some(ws::CloseReason {
                code: ws::CloseCode::Normal,
                description: Some("link expired".into()),
            }));
            ctx.stop();
            return;
        }
        match self.watched.view(&self.engine) {
            Some(view) => self.send(view, always, ctx),
            None => self.reread(ctx),
        }
    }

    fn send(
        &mut self,
        view: crate::patient::PatientView,
        always: bool,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        self.retry = RETRY_FIRST;
        if !always && self.sent.as_ref() == Some(&view) {
            return;
        }
        self.seq += 1;
        ctx.text(
            crate::patient::PatientFrame::Visit {
                seq: self.seq,
                visit: Box::new(view.clone()),
            }
            .encode(),
        );
        self.sent = Some(view);
    }

    /// Reads again after an update that came during the last read, else
    /// after a pause that doubles up to 5 s.
    fn reread_later(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        if std::mem::take(&mut self.pending) {
            self.reread(ctx);
            return;
        }
        let wait = self.retry;
        self.retry = (self.retry * 2).min(Duration::from_secs(5));
        ctx.run_later(wait, |act, ctx| act.reread(ctx));
    }

    fn reread(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        if self.rereading {
            return;
        }
        self.pending = false;
        self.rereading = true;
        let engine = self.engine.clone();
        let visit_no = self.watched.row.visit_no.to_string();
        let watch = self.watched.watch.clone();
        ctx.spawn(
            async move { crate::patient::reread(&engine, &visit_no, &watch).await }
                .into_actor(self)
                .map(move |found, act, ctx| {
                    act.rereading = false;
                    match found {
                        Ok(found) => {
                            let before = act.watched.watch.keys();
                            act.watched.merge(found);
                            let after = act.watched.watch.keys();
                            let moved = after != before;
                            if moved {
                                // Watch what is new first, then stop what
                                // is gone, and read again now that updates
                                // come: views read before the watch began
                                // may be behind.
                                let directory = act.engine.directory();
                                let added: Vec<_> =
                                    after.iter().filter(|k| !before.contains(k)).cloned().collect();
                                let removed: Vec<_> =
                                    before.iter().filter(|k| !after.contains(k)).cloned().collect();
                                directory.watch_staff(
                                    &added,
                                    triage_actors::staff::StaffWatcher {
                                        id: act.id,
                                        recipient: ctx.address().recipient(),
                                    },
                                );
                                directory.unwatch_staff(&removed, act.id);
                                act.pending = true;
                            }
                            if !act.watched.open_now(&act.engine) {
                                act.publish(false, ctx);
                                return;
                            }
                            match act.watched.view(&act.engine) {
                                Some(view) => {
                                    act.send(view, false, ctx);
                                    if moved {
                                        // The new queue's views were read
                                        // before its updates came here: a
                                        // call in between would be missed
                                        // by a publish of them. Read them
                                        // again, now watched.
                                        act.reread(ctx);
                                    } else if std::mem::take(&mut act.pending) {
                                        // Updates that came meanwhile may
                                        // say more.
                                        act.publish(false, ctx);
                                    }
                                }
                                // The row and the views still disagree (one
                                // was read before a change the other shows):
                                // read again, at once if an update came
                                // meanwhile, else a little later.
                                None => act.reread_later(ctx),
                            }
                        }
                        Err(e) => {
                            tracing::warn!(session = act.id, code = %e.code, "patient page: visit not read");
                            act.reread_later(ctx);
                        }
                    }
                }),
        );
    }
}

impl Actor for PatientSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.engine.directory().watch_staff(
            &self.watched.watch.keys(),
            triage_actors::staff::StaffWatcher {
                id: self.id,
                recipient: ctx.address().recipient(),
            },
        );
        self.publish(true, ctx);
        // Views fetched before the watch began may be behind: ask again.
        self.reread(ctx);
        ctx.run_interval(HEARTBEAT, |act, ctx| {
            if act.last_heard.elapsed() > CLIENT_TIMEOUT {
                ctx.stop();
                return;
            }
            // The day may end, the visit close, while nothing else moves.
            if !act.watched.open_now(&act.engine) {
                act.publish(false, ctx);
                return;
            }
            ctx.ping(b"");
        });
        // A new wait forecast (made off the calling path after a change).
        ctx.run_interval(WAITS_EVERY, |act, ctx| {
            let version = act.engine.waits().version();
            if version != act.waits_seen && !act.rereading {
                act.waits_seen = version;
                act.publish(false, ctx);
            }
        });
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        self.engine
            .directory()
            .unwatch_staff(&self.watched.watch.keys(), self.id);
        Running::Stop
    }
}

impl Handler<triage_actors::staff::StaffUpdate> for PatientSession {
    type Result = ();

    fn handle(&mut self, msg: triage_actors::staff::StaffUpdate, ctx: &mut Self::Context) {
        use triage_actors::staff::StaffUpdate;
        let fresh = match msg {
            // Only what is watched now (an update of a queue or room left
            // may still be on its way).
            StaffUpdate::Queue(view) if self.watched.watch.queues.contains(&view.code) => {
                self.watched.latest.queue(view)
            }
            StaffUpdate::Room(view) if self.watched.watch.rooms.contains(&view.code) => {
                self.watched.latest.room(view)
            }
            StaffUpdate::Queue(_) | StaffUpdate::Room(_) => false,
            StaffUpdate::Restarting => {
                ctx.text(
                    crate::patient::PatientFrame::Restarting {
                        message: triage_actors::board::frame::RESTARTING_MESSAGE.into(),
                    }
                    .encode(),
                );
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Restart,
                    description: Some("server restarting".into()),
                }));
                ctx.stop();
                return;
            }
        };
        if !fresh {
            return;
        }
        if self.rereading {
            self.pending = true;
        } else {
            self.publish(false, ctx);
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for PatientSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match heard(msg, &mut self.last_heard, ctx) {
            Heard::Said(ClientMessage::Resync) => self.publish(true, ctx),
            Heard::Said(ClientMessage::Ping) => {
                ctx.text(crate::patient::PatientFrame::Pong.encode())
            }
            _ => {}
        }
    }
}

/// Upgrades to a patient page's session; a link that opens nothing gets
/// the JSON 404 `patient_link_expired` first.
pub async fn patient_ws(
    req: HttpRequest,
    stream: web::Payload,
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, actix_web::Error> {
    // The hospital's gateway serves the page too.
    let mut origins = engine.hospital().allowed_origins.clone();
    if let Some(public) = &engine.hospital().patient.public_url {
        origins.push(public.to_ascii_lowercase());
    }
    origin_allowed(&req, &origins).map_err(ApiError::from)?;
    let watched = crate::patient::open(&engine, &path)
        .await
        .map_err(ApiError::from)?;
    let session = PatientSession {
        id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
        engine: engine.get_ref().clone(),
        watched,
        seq: 0,
        sent: None,
        rereading: false,
        pending: false,
        retry: RETRY_FIRST,
        waits_seen: 0,
        last_heard: Instant::now(),
    };
    let stream = guarded(stream);
    ws::start(session, &req, stream)
}

/// The most a screen socket hands the connection's write buffer at once.
const PAGE: usize = 1024;

/// A screen socket's outgoing bytes in slices of at most [`PAGE`]. With
/// the write buffer flushed at [`crate::listen::WRITE_BUFFER_FLUSH`], an
/// overview's 5–7 KiB snapshot no longer fills the connection's whole
/// 8 KiB write buffer: its second page is never touched and stays out of
/// the server's memory, for every socket (P2 in docs/performance.md). A
/// client sees the same bytes.
struct Paged<S> {
    inner: std::pin::Pin<Box<S>>,
    rest: actix_web::web::Bytes,
}

impl<S> Paged<S> {
    fn new(inner: S) -> Self {
        Paged {
            inner: Box::pin(inner),
            rest: actix_web::web::Bytes::new(),
        }
    }
}

impl<S, E> futures_util::Stream for Paged<S>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, E>>,
{
    type Item = Result<actix_web::web::Bytes, E>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = self.get_mut();
        while this.rest.is_empty() {
            match this.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(bytes))) => this.rest = bytes,
                other => return other,
            }
        }
        let n = this.rest.len().min(PAGE);
        Poll::Ready(Some(Ok(this.rest.split_to(n))))
    }
}

/// A browser opening a screen socket says which page it comes from
/// (`Origin`): this server's own pages and the configured origins may; a
/// page of another site may not (it could read the hospital's screens).
/// Clients that are not browsers send no `Origin`.
fn origin_allowed(req: &HttpRequest, allowed: &[String]) -> Result<(), Error> {
    let Some(origin) = req.headers().get(actix_web::http::header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .unwrap_or("")
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let own_host = req
        .headers()
        .get(actix_web::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    let origin_host = origin.split_once("://").map(|(_, h)| h);
    if origin_host.is_some() && origin_host == own_host.as_deref() {
        return Ok(());
    }
    if allowed.contains(&origin) {
        return Ok(());
    }
    // The Origin is what the client sent: never in a log line.
    tracing::warn!("screen socket refused: foreign origin");
    Err(Error::new(
        ErrorCode::OriginNotAllowed,
        "screen sockets open only from this server's pages or a configured origin",
    ))
}

/// The bytes a client sends, each frame's announced size checked by a
/// [`FrameGuard`] as its header arrives.
fn guarded(
    stream: web::Payload,
) -> impl futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>> {
    let mut guard = FrameGuard::default();
    stream.map(move |chunk| {
        let chunk = chunk?;
        guard.feed(&chunk)?;
        Ok(chunk)
    })
}

/// The largest frame a screen may send (its messages are a few bytes).
pub const MAX_FRAME: u64 = 64 * 1024;

/// Watches the frame headers of the bytes a screen sends and refuses a
/// frame that announces more than [`MAX_FRAME`] as soon as its header
/// arrives: the WebSocket codec would otherwise wait for the whole payload
/// before it checks the size, holding the socket open.
#[derive(Default)]
struct FrameGuard {
    /// The header read so far (2 to 14 bytes).
    header: Vec<u8>,
    /// Payload bytes of the current frame still to come.
    remaining: u64,
}

impl FrameGuard {
    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), actix_web::error::PayloadError> {
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let n = usize::try_from(self.remaining)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                self.remaining -= n as u64;
                bytes = &bytes[n..];
                continue;
            }
            self.header.push(bytes[0]);
            bytes = &bytes[1..];
            if let Some(length) = announced_length(&self.header) {
                if length > MAX_FRAME {
                    return Err(actix_web::error::PayloadError::Overflow);
                }
                self.remaining = length;
                self.header.clear();
            }
        }
        Ok(())
    }
}

/// The payload length a complete frame header announces; `None` while the
/// header is incomplete.
fn announced_length(h: &[u8]) -> Option<u64> {
    let (&b1, rest) = h.get(1).map(|b| (b, &h[2..]))?;
    let masked = b1 & 0x80 != 0;
    let (extended, length) = match b1 & 0x7f {
        126 => (
            2,
            rest.get(..2)
                .map(|b| u64::from(u16::from_be_bytes([b[0], b[1]]))),
        ),
        127 => (
            8,
            rest.get(..8)
                .map(|b| u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])),
        ),
        n => (0, Some(u64::from(n))),
    };
    let needed = 2 + extended + if masked { 4 } else { 0 };
    if h.len() < needed {
        return None;
    }
    length
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame of `len` payload bytes (the payload is zeros).
    fn frame(len: usize) -> Vec<u8> {
        let mut f = vec![0x81];
        match len {
            0..=125 => f.push(0x80 | len as u8),
            126..=65535 => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&[9, 9, 9, 9]);
        f.extend(std::iter::repeat_n(0u8, len));
        f
    }

    #[test]
    fn frames_up_to_the_maximum_pass_in_any_chunking_and_a_larger_one_is_refused() {
        let mut stream: Vec<u8> = Vec::new();
        for len in [0, 5, 125, 126, 300, 65_535, MAX_FRAME as usize] {
            stream.extend(frame(len));
        }
        for chunk in [1, 3, 7, 1000, stream.len()] {
            let mut g = FrameGuard::default();
            for part in stream.chunks(chunk) {
                assert!(g.feed(part).is_ok(), "chunks of {chunk}");
            }
            assert_eq!(g.remaining, 0);
        }
        let mut g = FrameGuard::default();
        let big = frame(MAX_FRAME as usize + 1);
        // Refused at the header, before any payload byte.
        assert!(g.feed(&big[..14]).is_err());
    }

    #[test]
    fn control_frames_and_client_messages_read_as_before() {
        // The control frames, now variants of each channel's frame type,
        // go out as they did when they were written here by hand.
        assert_eq!(
            &*ScreenFrame::Unauthorized.encode(),
            r#"{"type":"unauthorized"}"#
        );
        assert_eq!(&*ScreenFrame::Pong.encode(), r#"{"type":"pong"}"#);
        assert_eq!(StaffFrame::Pong.encode(), r#"{"type":"pong"}"#);
        assert_eq!(StaffFrame::SignedOut.encode(), r#"{"type":"signed_out"}"#);
        assert_eq!(
            StaffFrame::restarting().encode(),
            r#"{"type":"restarting","message":"系统重启中，稍候自动恢复"}"#
        );
        assert!(matches!(
            ClientMessage::read(r#"{"type":"hello","token":"t"}"#),
            ClientMessage::Hello { token } if token == "t"
        ));
        assert!(matches!(
            ClientMessage::read(r#"{"type":"hello"}"#),
            ClientMessage::Hello { token } if token.is_empty()
        ));
        assert!(matches!(
            ClientMessage::read(r#"{"type":"resync"}"#),
            ClientMessage::Resync
        ));
        assert!(matches!(
            ClientMessage::read(r#"{"type":"ping","x":1}"#),
            ClientMessage::Ping
        ));
        for other in [
            r#"{"type":"nope"}"#,
            "not json",
            r#"{"type":5}"#,
            r#"{"type":"hello","token":5}"#,
        ] {
            assert!(
                matches!(ClientMessage::read(other), ClientMessage::Other),
                "{other}"
            );
        }
    }
}
