//! Diesel table definitions, shared by both backends (portable column types
//! only: Text, BigInt, Integer, Timestamp). Written to match
//! `migrations/{sqlite,postgres}`; a test checks both databases agree.

diesel::table! {
    doctors (code) {
        code -> Text,
        name -> Text,
        department_code -> Text,
        title -> Text,
        introduction -> Text,
        photo -> Nullable<Text>,
        photo_mime -> Nullable<Text>,
        updated_at -> Timestamp,
        sex -> Nullable<Text>,
        on_duty -> Bool,
    }
}

diesel::table! {
    visits (visit_no) {
        visit_no -> Text,
        patient_id -> Text,
        patient_name -> Text,
        sex -> Text,
        birth_date -> Nullable<Text>,
        department_code -> Text,
        doctor_code -> Nullable<Text>,
        visit_type -> Text,
        registered_at -> Timestamp,
        appointment_start -> Nullable<Timestamp>,
        appointment_end -> Nullable<Timestamp>,
        special -> Text,
        exam_items -> Text,
        body -> Text,
        status -> Text,
        queue_code -> Nullable<Text>,
        ticket_no -> Nullable<Text>,
        service_date -> Nullable<Text>,
        seq -> Nullable<BigInt>,
        queue_mark -> Nullable<BigInt>,
        entry_kind -> Nullable<Text>,
        tags -> Text,
        checked_in_at -> Nullable<Timestamp>,
        called_at -> Nullable<Timestamp>,
        room_code -> Nullable<Text>,
        call_count -> Integer,
        placement -> Nullable<Text>,
        finished_at -> Nullable<Timestamp>,
        performer -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        miss_count -> Integer,
        marked_at -> Nullable<Timestamp>,
        held -> Bool,
        pinned_at -> Nullable<Timestamp>,
        locked_seq -> Nullable<BigInt>,
        his_seq -> Nullable<BigInt>,
        moved_position -> Nullable<Integer>,
        moved_mark -> Nullable<BigInt>,
        moved_at -> Nullable<Timestamp>,
        assigned_room -> Nullable<Text>,
        assigned_at -> Nullable<Timestamp>,
        assigned_order -> Nullable<BigInt>,
        special_staff -> Text,
        closed_as -> Nullable<Text>,
        appointed_room -> Nullable<Text>,
    }
}

diesel::table! {
    rooms (code) {
        code -> Text,
        status -> Text,
        current_visit_no -> Nullable<Text>,
        updated_at -> Timestamp,
        mix_cursor -> BigInt,
        seat -> Text,
        seated_doctor -> Nullable<Text>,
        draws_from -> Nullable<Text>,
        mix -> Nullable<Text>,
    }
}

diesel::table! {
    queue_counters (queue_code) {
        queue_code -> Text,
        normal_calls_total -> BigInt,
        last_insert_mark -> BigInt,
        ticket_date -> Text,
        ticket_last -> Integer,
        next_seq -> BigInt,
        updated_at -> Timestamp,
        consecutive_priority -> BigInt,
        calls_since_return -> BigInt,
        taken_total -> BigInt,
        overtakes -> Text,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        at -> Timestamp,
        kind -> Text,
        operator -> Text,
        source -> Text,
        visit_no -> Nullable<Text>,
        room_code -> Nullable<Text>,
        queue_code -> Nullable<Text>,
        detail -> Text,
        prev_hash -> Nullable<Text>,
        hash -> Nullable<Text>,
    }
}

diesel::table! {
    notices (id) {
        id -> BigInt,
        text -> Text,
        level -> Text,
        screens -> Text,
        operator -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        withdrawn_at -> Nullable<Timestamp>,
        starts_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    queue_rules (queue_code) {
        queue_code -> Text,
        rules -> Text,
        operator -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    staff_accounts (code) {
        code -> Text,
        name -> Text,
        role -> Text,
        scope -> Text,
        password_hash -> Text,
        must_change -> Bool,
        disabled -> Bool,
        totp_secret -> Nullable<Text>,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    staff_sessions (id_hash) {
        id_hash -> Text,
        staff_code -> Text,
        source -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    his_clients (name) {
        name -> Text,
        key_id -> Text,
        key_hash -> Text,
        scopes -> Text,
        require_signature -> Bool,
        rate_per_minute -> Integer,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        signing_sealed -> Nullable<Text>,
    }
}

diesel::table! {
    screen_tokens (screen_code) {
        screen_code -> Text,
        token_hash -> Text,
        issued_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_prunes (id) {
        id -> BigInt,
        pruned_at -> Timestamp,
        through_id -> BigInt,
        through_hash -> Text,
        records -> BigInt,
    }
}

diesel::table! {
    audit_legacy (through_id) {
        through_id -> BigInt,
        records -> BigInt,
    }
}

diesel::table! {
    staff_totp_steps (staff_code) {
        staff_code -> Text,
        last_step -> BigInt,
    }
}

diesel::table! {
    screens (code) {
        code -> Text,
        name -> Text,
        kind -> Text,
        title -> Text,
        rooms -> Text,
        voice -> Bool,
        next_count -> Integer,
        updated_at -> Timestamp,
        show_appointments -> Bool,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    appointments (appointment_id) {
        appointment_id -> Text,
        version -> BigInt,
        digest -> Text,
        room_code -> Nullable<Text>,
        status -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    day_closures (service_date) {
        service_date -> Text,
        closed_at -> Timestamp,
        operator -> Text,
        not_seen -> BigInt,
        missed_unreturned -> BigInt,
        exam_unreturned -> BigInt,
    }
}

diesel::table! {
    schedules (service_date, session, room_code) {
        service_date -> Text,
        session -> Text,
        room_code -> Text,
        doctor_code -> Text,
        queues -> Text,
        patient_limit -> Nullable<Integer>,
        status -> Text,
        source -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    schedule_switches (service_date, session) {
        service_date -> Text,
        session -> Text,
        switched_at -> Timestamp,
    }
}

diesel::table! {
    faults (id) {
        id -> BigInt,
        fault_key -> Text,
        kind -> Text,
        severity -> Text,
        title -> Text,
        detail -> Text,
        place -> Text,
        state -> Text,
        opened_at -> Timestamp,
        reported_by -> Nullable<Text>,
        acknowledged_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        resolved_by -> Nullable<Text>,
        resolution -> Nullable<Text>,
        archived_at -> Nullable<Timestamp>,
        escalation -> Integer,
        next_reminder_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    fault_events (id) {
        id -> BigInt,
        fault_id -> BigInt,
        at -> Timestamp,
        kind -> Text,
        actor -> Text,
        note -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        fault_id -> Nullable<BigInt>,
        channel -> Text,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        message_token -> Nullable<Text>,
    }
}

diesel::table! {
    screen_presence (code) {
        code -> Text,
        last_seen -> Timestamp,
    }
}

diesel::table! {
    kiosk_presence (code) {
        code -> Text,
        last_seen -> Timestamp,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    timings (day, kind, name) {
        day -> Text,
        kind -> Text,
        name -> Text,
        calls -> BigInt,
        total_ms -> Double,
        max_ms -> Double,
    }
}

diesel::table! {
    server_runs (id) {
        id -> BigInt,
        started_at -> Timestamp,
        seen_at -> Timestamp,
        stopped_at -> Nullable<Timestamp>,
        version -> Text,
    }
}

diesel::table! {
    exam_reports (report_id, digest) {
        report_id -> Text,
        digest -> Text,
        visit_no -> Text,
        item_code -> Text,
        item_name -> Text,
        findings -> Text,
        conclusion -> Text,
        reporter -> Text,
        reported_at -> Timestamp,
        status -> Text,
        received_at -> Timestamp,
        source -> Text,
    }
}

diesel::table! {
    exam_report_images (report_id, digest, seq) {
        report_id -> Text,
        digest -> Text,
        seq -> Integer,
        mime -> Text,
        title -> Text,
        data -> Binary,
    }
}

diesel::table! {
    his_nonces (key_id, nonce) {
        key_id -> Text,
        nonce -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    patient_links (digest) {
        digest -> Text,
        visit_no -> Text,
        service_date -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    patient_webhooks (id) {
        id -> BigInt,
        event_id -> Text,
        kind -> Text,
        visit_no -> Text,
        service_date -> Text,
        body -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        gave_up_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    wait_calibrations (id) {
        id -> BigInt,
        computed_at -> Timestamp,
        from_day -> Text,
        to_day -> Text,
        summary -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    doctors,
    visits,
    rooms,
    queue_counters,
    events,
    notices,
    queue_rules,
    staff_accounts,
    staff_sessions,
    his_clients,
    screen_tokens,
    audit_prunes,
    audit_legacy,
    staff_totp_steps,
    screens,
    day_closures,
    schedules,
    schedule_switches,
    faults,
    fault_events,
    outbox,
    screen_presence,
    kiosk_presence,
    server_secrets,
    timings,
    server_runs,
    exam_reports,
    exam_report_images,
    appointments,
    his_nonces,
    patient_links,
    patient_webhooks,
    wait_calibrations
);
