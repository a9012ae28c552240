//! The enumerated text columns the database stores (a schedule entry's
//! status, an appointment's, a visit's type, a notice's level, an alert message's channel, a fault's kind, state and severity): one enum each, written and
//! read through diesel as their stable text, so no code compares a column
//! with a string literal. A stored text that is none of them is broken
//! data, reported when the row is read. The engine crate's enums
//! (`VisitStatus`, `EntryKind`, `PlacementCode`, `RoomStatus`,
//! `SeatState`, `Sex`) are stored the same way through its `diesel`
//! feature; both use `triage_ground::stored_as_text!`.

use std::fmt;

/// An enum stored as one of its texts.
macro_rules! text_column {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in the order declared.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value a stored text names.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let text = String::deserialize(d)?;
                $name::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!("{} is no {}", text, stringify!($name)))
                })
            }
        }

        triage_ground::stored_as_text!($name);
    };
}

text_column!(
    /// A schedule entry's status (排班).
    ScheduleStatus {
        /// In force.
        Active = "active",
        /// Withdrawn by HIS or a nurse.
        Cancelled = "cancelled",
        /// The doctor stopped the clinic (停诊) for that session.
        Stopped = "stopped",
    }
);

text_column!(
    /// An appointment's status (预约).
    AppointmentStatus {
        /// Booked.
        Active = "active",
        /// Cancelled (a tombstone, also for one never received).
        Cancelled = "cancelled",
    }
);

text_column!(
    /// A visit's type as HIS registered it.
    VisitType {
        /// 初诊.
        First = "first",
        /// 复诊.
        Return = "return",
    }
);

text_column!(
    /// A fault record's state (故障工单).
    FaultState {
        /// Open, nobody has acknowledged it (待确认).
        Opened = "opened",
        /// Someone handles it (已确认).
        Acknowledged = "acknowledged",
        /// Over (已恢复).
        Resolved = "resolved",
        /// Filed away (已归档).
        Archived = "archived",
    }
);

text_column!(
    /// How a notice (公告) shows on the screens.
    NoticeLevel {
        /// 普通.
        Info = "info",
        /// 紧急: shown first, in red.
        Urgent = "urgent",
    }
);

text_column!(
    /// How an alert message is sent (the outbox's channel).
    Channel {
        /// E-mail over SMTP.
        Mail = "mail",
        /// The WeCom or DingTalk robot.
        Webhook = "webhook",
    }
);

text_column!(
    /// What went wrong (a fault's kind, 故障类型).
    FaultKind {
        /// A screen stopped answering (屏幕离线).
        ScreenOffline = "screen_offline",
        /// The database cannot be reached (数据库不可用).
        Database = "database",
        /// HIS has not called within working hours.
        HisSilent = "his_silent",
        /// Too many answers are errors.
        ErrorRate = "error_rate",
        /// A queue's longest wait is too long.
        QueueWait = "queue_wait",
        /// The server's disk is nearly full.
        DiskLow = "disk_low",
        /// The nightly backup or its check failed.
        BackupFailed = "backup_failed",
        /// The nightly backup is not there.
        BackupMissing = "backup_missing",
        /// A person reported it (人工报告).
        Reported = "reported",
        /// An account's wrong passwords in a row reached the limit
        /// (连续登录失败).
        LoginFailures = "login_failures",
        /// A scheduled operation (maintenance, inspection, monthly
        /// report) failed or was left undone (定期运维未完成).
        Operations = "operations",
    }
);

text_column!(
    /// How urgent a fault is: a critical one is told at once, also in quiet
    /// hours.
    Severity {
        /// 警告.
        Warning = "warning",
        /// 严重.
        Critical = "critical",
    }
);
