//! The staff channel (`/ws/staff`) over real WebSocket clients with real
//! logins: a nurse's page watches her departments, a doctor's his rooms;
//! full names, special groups and reasons reach staff in scope only, as a
//! snapshot then frames with the next `seq`; a page without a live staff
//! session gets nothing.

use std::time::Duration;

use serde_json::{json, Value};
use triage::auth::policy::Role;

use crate::common::{registration, spawn_app, Ws};

fn codes(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn entry<'a>(queue: &'a Value, visit: &str) -> &'a Value {
    queue["entries"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["visit_no"] == visit))
        .unwrap_or_else(|| panic!("{visit} not in {queue}"))
}

/// The next frame, which must be a `kind` frame with the next `seq`.
async fn next_in_sequence(ws: &mut Ws, seq: &mut u64, kind: &str) -> Value {
    let f = ws.next().await;
    *seq += 1;
    assert_eq!(f["seq"].as_u64(), Some(*seq), "out of sequence: {f}");
    if !kind.is_empty() {
        assert_eq!(f["type"], kind, "{f}");
    }
    f
}

#[actix_web::test]
async fn a_nurse_page_gets_her_departments_with_full_names_and_every_change_in_sequence() {
    let app = spawn_app().await;
    app.arrive("S1", &registration("张三丰", "NK")).await;
    app.arrive("S9", &registration("外科病人", "WK")).await;

    let mut ws = app.staff_socket("N-NK", Role::Nurse, &["NK"], "").await;
    let snap = ws.next().await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["staff"]["code"], "N-NK");
    assert_eq!(snap["departments"], json!(["NK"]));
    assert_eq!(codes(&snap["queues"]), ["NK", "NK-D1001"]);
    assert_eq!(codes(&snap["rooms"]), ["NK-01", "NK-02", "NK-03", "NK-04"]);
    let nk = &snap["queues"][0];
    let s1 = entry(nk, "S1");
    assert_eq!(s1["name"], "张三丰", "staff in scope see the full name");
    assert_eq!(s1["ticket_no"], "A001");
    assert_eq!(s1["position"], 1);
    assert!(s1["placement_reason"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    assert!(
        !snap.to_string().contains("外科病人"),
        "another department leaked"
    );
    let mut seq = snap["seq"].as_u64().unwrap_or(0);

    // A change in another department sends nothing; one in hers arrives
    // as the next frame, the special group named and placed first.
    app.arrive("S8", &registration("外科病人二", "WK")).await;
    let mut b = registration("欧阳娜娜", "NK");
    b["special"] = json!(["pregnant"]);
    app.arrive("S2", &b).await;
    let f = next_in_sequence(&mut ws, &mut seq, "queue").await;
    assert_eq!(f["queue"]["code"], "NK");
    let s2 = entry(&f["queue"], "S2");
    assert_eq!(s2["name"], "欧阳娜娜");
    assert_eq!(s2["special"], "孕妇");
    assert_eq!(s2["tags"], json!(["孕妇"]));
    assert_eq!(s2["position"], 1);
    assert_eq!(entry(&f["queue"], "S1")["position"], 2);

    // Held with a reason: the frame says so.
    let r = app
        .http
        .post(app.url("/api/v1/registrations/S1/hold"))
        .json(&json!({"reason": "患者去做检查"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let f = next_in_sequence(&mut ws, &mut seq, "queue").await;
    let s1 = entry(&f["queue"], "S1");
    assert_eq!(s1["held"], true);
    assert_eq!(s1["callable"], false);

    // A call from one of her rooms: the room frame names the patient, and
    // the queue frame no longer lists them.
    assert_eq!(app.room("NK-02", "call-next").await.status(), 200);
    let (mut room, mut left) = (None, false);
    while room.is_none() || !left {
        let f = ws.next().await;
        seq += 1;
        assert_eq!(f["seq"].as_u64(), Some(seq), "{f}");
        if f["type"] == "room" && f["room"]["code"] == "NK-02" {
            room = Some(f);
        } else if f["type"] == "queue" && f["queue"]["code"] == "NK" {
            left = f["queue"]["entries"]
                .as_array()
                .is_some_and(|a| a.iter().all(|e| e["visit_no"] != "S2"));
        }
    }
    let room = room.unwrap_or_default();
    assert_eq!(room["room"]["current"]["visit_no"], "S2");
    assert_eq!(room["room"]["current"]["name"], "欧阳娜娜");
    assert_eq!(room["room"]["current"]["tags"], json!(["孕妇"]));

    // A resync is a new snapshot at the next seq, equal to the truth.
    ws.send(json!({"type": "resync"})).await;
    let mut snap = ws.next().await;
    while snap["type"] != "snapshot" {
        seq = snap["seq"].as_u64().unwrap_or(seq);
        snap = ws.next().await;
    }
    assert_eq!(snap["seq"].as_u64(), Some(seq + 1));
    let truth = app.get_json("/api/v1/queues/NK").await;
    let listed: Vec<&Value> = truth["entries"]
        .as_array()
        .map(|a| a.iter().map(|e| &e["visit_no"]).collect())
        .unwrap_or_default();
    let shown: Vec<&Value> = snap["queues"][0]["entries"]
        .as_array()
        .map(|a| a.iter().map(|e| &e["visit_no"]).collect())
        .unwrap_or_default();
    assert_eq!(shown, listed);
}

#[actix_web::test]
async fn a_doctor_page_watches_his_rooms_and_reminds_him_of_a_special_group() {
    let app = spawn_app().await;
    app.arrive("D2", &registration("李秀英", "NK")).await;

    let mut ws = app
        .staff_socket("D1002", Role::Doctor, &["NK-02"], "")
        .await;
    let snap = ws.next().await;
    assert_eq!(codes(&snap["rooms"]), ["NK-02"]);
    assert_eq!(codes(&snap["queues"]), ["NK"]);
    let mut seq = snap["seq"].as_u64().unwrap_or(0);

    // Another room calls: the queue changes (he sees the list), but no
    // frame of the other room reaches him.
    assert_eq!(app.room("NK-03", "call-next").await.status(), 200);
    let f = next_in_sequence(&mut ws, &mut seq, "queue").await;
    assert!(
        f["queue"]["entries"].as_array().is_some_and(Vec::is_empty),
        "D2 left the list for NK-03: {f}"
    );

    // A soldier checks in: the list he watches names the group.
    let mut army = registration("王建军", "NK");
    army["special"] = json!(["military"]);
    app.arrive("D1", &army).await;
    let f = next_in_sequence(&mut ws, &mut seq, "queue").await;
    let waiting = entry(&f["queue"], "D1");
    assert_eq!(waiting["tags"], json!(["军人"]), "{waiting}");
    assert_eq!(waiting["special"], "军人", "{waiting}");

    // He calls from his own session: the room frame carries the patient
    // and the group to remind him of (特殊人群提醒).
    let doctor = app.staff("D1002", Role::Doctor, &["NK-02"]).await;
    let r = doctor
        .post(app.url("/api/v1/rooms/NK-02/call-next"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let mut frames = Vec::new();
    while frames.len() < 2 {
        frames.push(next_in_sequence(&mut ws, &mut seq, "").await);
    }
    let room = frames
        .iter()
        .find(|f| f["type"] == "room")
        .unwrap_or_else(|| panic!("no room frame: {frames:?}"));
    assert_eq!(room["room"]["code"], "NK-02");
    let current = &room["room"]["current"];
    assert_eq!(current["name"], "王建军");
    assert_eq!(current["tags"], json!(["军人"]), "the reminder: {current}");
    assert!(frames.iter().all(|f| f["room"]["code"] != "NK-03"));

    // He may transfer the patient he has called (转诊), not another room's.
    let other = app.staff("D1003", Role::Doctor, &["NK-03"]).await;
    let before = app.dump().await;
    let r = other
        .post(app.url("/api/v1/visits/D1/transfer"))
        .json(&json!({"room_code": "WK-01", "reason": "需外科会诊"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 403);
    assert_eq!(app.dump().await, before);
    let r = doctor
        .post(app.url("/api/v1/visits/D1/transfer"))
        .json(&json!({"room_code": "WK-01", "reason": "需外科会诊"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
}

#[actix_web::test]
async fn the_staff_channel_needs_a_live_staff_session_within_its_scope() {
    let app = spawn_app().await;
    assert_eq!(app.staff_socket_with(None, "").await.err(), Some(401));
    assert_eq!(
        app.staff_socket_with(Some("triage_session=forged"), "")
            .await
            .err(),
        Some(401)
    );
    let headers = app.staff_login("N-WK", Role::Nurse, &["WK"]).await;
    let cookie = headers
        .get(reqwest::header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        app.staff_socket_with(Some(&cookie), "?departments=NK")
            .await
            .err(),
        Some(403),
        "a nurse asks for a department not hers"
    );
    assert_eq!(
        app.staff_socket_with(Some(&cookie), "?departments=XX")
            .await
            .err()
            .map(|s| s >= 400),
        Some(true)
    );

    // Logged out elsewhere: the open page is told and closed.
    let Ok(mut ws) = app
        .staff_socket_with(Some(&cookie), "?departments=WK")
        .await
    else {
        panic!("her own department refused");
    };
    assert_eq!(ws.next().await["type"], "snapshot");
    let client = reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(20))
        .default_headers(headers)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let r = client
        .delete(app.url("/api/v1/session"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let told = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let f = ws.next_within(Duration::from_secs(15)).await;
            if f["type"] == "signed_out" {
                return f;
            }
        }
    })
    .await;
    assert!(told.is_ok(), "the page was not told its session ended");
}

/// The waiting lists for manual triage (应急预案) as an Excel workbook: one
/// sheet per queue of the nurse's departments, every waiting patient in
/// calling order, with full names; a HIS client gets none.
#[actix_web::test]
async fn the_waiting_lists_export_to_excel_in_calling_order_with_full_names() {
    use calamine::Reader;
    let app = spawn_app().await;
    let mut b = registration("欧阳娜娜", "NK");
    b["special"] = json!(["pregnant"]);
    app.arrive("X1", &registration("张三丰", "NK")).await;
    app.arrive("X2", &b).await;
    app.arrive("X3", &registration("李秀英", "NK")).await;
    app.arrive("X9", &registration("外科病人", "WK")).await;
    let nurse = app.staff("N-NK", Role::Nurse, &["NK"]).await;
    let r = nurse
        .get(app.url("/api/v1/waiting-lists.xlsx"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    let bytes = r.bytes().await.unwrap_or_else(|e| panic!("{e}"));
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec()))
            .unwrap_or_else(|e| panic!("not a workbook: {e}"));
    assert_eq!(book.sheet_names(), ["内科普通号", "王建国主任专家号"]);
    let range = book
        .worksheet_range("内科普通号")
        .unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0][..3], ["序号", "票号", "姓名"]);
    let truth = app.get_json("/api/v1/queues/NK").await;
    let tickets: Vec<String> = truth["entries"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["ticket_no"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let listed: Vec<String> = rows[1..].iter().map(|r| r[1].clone()).collect();
    assert_eq!(listed, tickets, "every waiting patient, in calling order");
    assert_eq!(rows[1][2], "欧阳娜娜");
    assert_eq!(rows[1][4], "孕妇");
    assert!(rows.iter().all(|r| !r.contains(&"外科病人".to_string())));

    // Another department, asked for: refused; a HIS client: refused.
    let r = nurse
        .get(app.url("/api/v1/waiting-lists.xlsx?departments=WK"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 403);
    // A doctor of NK asking for WK: refused too, as the API document says
    // (not his own list under another name); his own department: his list.
    let doctor = app.staff("D-XLSX", Role::Doctor, &["NK-01"]).await;
    for (asked, status) in [("WK", 403), ("NK", 200), ("NK,WK", 403)] {
        let r = doctor
            .get(app.url(&format!("/api/v1/waiting-lists.xlsx?departments={asked}")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            r.status().as_u16(),
            status,
            "a doctor of NK asking for {asked}"
        );
    }
    let r = app
        .his()
        .get(app.url("/api/v1/waiting-lists.xlsx"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 403);
}
