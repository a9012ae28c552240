//! Privacy: how a patient's name appears on public screens and in the voice.
//!
//! Screens always get the masked form (1 char unchanged; 2 chars 张*; 3 chars
//! 张*三; 4+ keep the first and last). The voice speaks what the hospital's
//! [`VoiceNameMode`] allows; the full name only when it is switched on.

use crate::model::Sex;
use serde::{Deserialize, Serialize};

/// What the voice may say of a patient's name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoiceNameMode {
    /// "请 A012号 到 3诊室 就诊" — no name at all.
    TicketOnly,
    /// "请 A012号 张女士 到 …" — surname plus 先生/女士 (default).
    #[default]
    SurnameTitle,
    /// The masked name as on screens.
    Masked,
    /// The full name; only when the hospital turns it on.
    FullName,
}

/// Two-character surnames common enough to matter for 先生/女士 and masking.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "令狐", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "百里", "呼延", "澹台", "太史", "申屠",
];

/// Masks a name for public display: 张三 → 张*, 张三丰 → 张*丰, 欧阳娜娜 → 欧**娜.
/// Names with a middle dot (阿卜杜·热合曼) keep the first and last character.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => chars.iter().collect(),
        2 => format!("{}*", chars[0]),
        n => {
            let mut out = String::with_capacity(n * 3);
            out.push(chars[0]);
            for _ in 1..n - 1 {
                out.push('*');
            }
            out.push(chars[n - 1]);
            out
        }
    }
}

/// The surname: a known compound surname, else the first character.
pub fn surname(name: &str) -> String {
    let name = name.trim();
    for s in COMPOUND_SURNAMES {
        if name.starts_with(s) && name.chars().count() > 2 {
            return (*s).to_string();
        }
    }
    name.chars().next().map(String::from).unwrap_or_default()
}

/// What the voice says for this patient under `mode` (先生/女士 after the
/// surname needs the sex).
pub fn spoken_name(name: &str, sex: Sex, mode: VoiceNameMode) -> String {
    match mode {
        VoiceNameMode::TicketOnly => String::new(),
        VoiceNameMode::Masked => mask_name(name),
        VoiceNameMode::FullName => name.trim().to_string(),
        VoiceNameMode::SurnameTitle => {
            let s = surname(name);
            if s.is_empty() {
                return String::new();
            }
            match sex {
                Sex::Male => format!("{s}先生"),
                Sex::Female => format!("{s}女士"),
                _ => mask_name(name),
            }
        }
    }
}

/// The announcement: "请 A012号 张女士 到 内科3诊室 就诊".
pub fn announcement_text(ticket_no: &str, spoken_name: &str, room_spoken: &str) -> String {
    if spoken_name.is_empty() {
        format!("请 {ticket_no}号 到 {room_spoken} 就诊")
    } else {
        format!("请 {ticket_no}号 {spoken_name} 到 {room_spoken} 就诊")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_names_as_seen_in_the_field() {
        assert_eq!(mask_name("张"), "张");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张三丰"), "张*丰");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("阿卜杜·热合曼"), "阿*****曼");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn voice_never_says_more_than_the_mode_allows() {
        assert_eq!(
            spoken_name("张三丰", Sex::Male, VoiceNameMode::SurnameTitle),
            "张先生"
        );
        assert_eq!(
            spoken_name("欧阳娜娜", Sex::Female, VoiceNameMode::SurnameTitle),
            "欧阳女士"
        );
        assert_eq!(
            spoken_name("张三丰", Sex::Unstated, VoiceNameMode::SurnameTitle),
            "张*丰"
        );
        assert_eq!(
            spoken_name("张三丰", Sex::Male, VoiceNameMode::TicketOnly),
            ""
        );
        assert_eq!(
            spoken_name("张三丰", Sex::Male, VoiceNameMode::FullName),
            "张三丰"
        );
        assert_eq!(
            announcement_text("A012", "张女士", "3诊室"),
            "请 A012号 张女士 到 3诊室 就诊"
        );
        assert_eq!(
            announcement_text("A012", "", "3诊室"),
            "请 A012号 到 3诊室 就诊"
        );
    }
}
