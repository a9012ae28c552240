//! The domain values: visit statuses and their allowed moves, special tags
//! and their stable codes.

use triage_actors::model::{SpecialTag, VisitStatus};

#[test]
fn visit_statuses_move_only_along_the_allowed_transitions() {
    use VisitStatus::*;
    let allowed = [
        (Registered, Waiting),
        (Registered, Cancelled),
        (Waiting, Waiting), // transfer to another queue
        (Waiting, Called),
        (Waiting, Cancelled),
        (Called, Waiting), // transfer from a room
        (Called, Finished),
        (Called, Missed),
        (Called, NoShow),
        (Called, Exam),
        (Called, Cancelled),
        (Missed, Waiting), // 召回
        (Exam, Waiting),   // 回诊
        // Day end (日终): whatever is still open closes.
        (Waiting, Closed),
        (Called, Closed),
        (Missed, Closed),
        (Exam, Closed),
    ];
    for from in VisitStatus::ALL {
        for to in VisitStatus::ALL {
            assert_eq!(
                from.can_become(to),
                allowed.contains(&(from, to)),
                "{from} → {to}"
            );
        }
    }
    assert_eq!(
        VisitStatus::sources(Waiting),
        [Registered, Waiting, Called, Missed, Exam]
    );
    let finals: Vec<VisitStatus> = VisitStatus::ALL
        .into_iter()
        .filter(|s| s.is_final())
        .collect();
    assert_eq!(finals, [Finished, NoShow, Cancelled, Closed]);
}

#[test]
fn statuses_and_tags_keep_their_stable_codes() {
    for s in VisitStatus::ALL {
        assert_eq!(VisitStatus::parse(s.as_str()), Some(s));
        assert_eq!(
            serde_json::to_value(s).ok(),
            Some(serde_json::json!(s.as_str()))
        );
    }
    assert_eq!(VisitStatus::parse("done"), None);
    let codes: Vec<&str> = SpecialTag::ALL.map(SpecialTag::as_str).to_vec();
    assert_eq!(
        codes,
        ["child", "disabled", "elderly", "military", "pregnant"]
    );
    for t in SpecialTag::ALL {
        assert_eq!(SpecialTag::parse(t.as_str()), Some(t));
        assert_eq!(
            serde_json::to_value(t).ok(),
            Some(serde_json::json!(t.as_str()))
        );
    }
    assert_eq!(SpecialTag::Military.label_zh(), "军人");
    assert_eq!(SpecialTag::parse("vip"), None);
}
