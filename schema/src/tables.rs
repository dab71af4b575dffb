//! Diesel table definitions. One set of tables serves both backends, so only
//! SQL types both share are used: `BigInt` ids, `Timestamp` in UTC, JSON as `Text`.

diesel::table! {
    areas (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        level -> Text,
        parent_id -> Nullable<BigInt>,
        path -> Text,
        depth -> Integer,
        boundary -> Nullable<Text>,
        centroid_lat -> Nullable<Double>,
        centroid_lon -> Nullable<Double>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sync_counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    households (id) {
        id -> BigInt,
        village_id -> BigInt,
        code -> Text,
        head_name -> Text,
        address -> Text,
        member_count -> Integer,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        categories -> Text,
        active -> Bool,
        sync_seq -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        full_name -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_areas (user_id, area_id) {
        user_id -> BigInt,
        area_id -> BigInt,
    }
}

diesel::table! {
    auth_sessions (id) {
        id -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    devices (id) {
        id -> BigInt,
        user_id -> BigInt,
        label -> Text,
        token_hash -> Text,
        token_nonce -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    forms (id) {
        id -> Text,
        state -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    form_versions (form_id, version) {
        form_id -> Text,
        version -> Integer,
        content_hash -> Text,
        definition -> Text,
        title_vi -> Text,
        title_en -> Text,
        retired -> Bool,
        published_at -> Timestamp,
        published_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    photos (sha256) {
        sha256 -> Text,
        format -> Text,
        size_bytes -> BigInt,
        width -> Integer,
        height -> Integer,
        exif_time -> Nullable<Timestamp>,
        exif_lat -> Nullable<Double>,
        exif_lon -> Nullable<Double>,
        created_at -> Timestamp,
        verified_at -> Nullable<Timestamp>,
        verify_error -> Nullable<Text>,
        exif_camera -> Nullable<Text>,
        exif_error -> Nullable<Text>,
    }
}

diesel::table! {
    photo_keys (key, sha256) {
        key -> BigInt,
        sha256 -> Text,
        village_id -> Nullable<BigInt>,
        x -> Nullable<SmallInt>,
        y -> Nullable<SmallInt>,
    }
}

diesel::table! {
    common_photo_keys (key) {
        key -> BigInt,
        since -> BigInt,
    }
}

diesel::table! {
    submissions (id) {
        id -> BigInt,
        instance_id -> Text,
        content_hash -> Text,
        form_id -> Text,
        form_version -> Integer,
        village_id -> BigInt,
        area_path -> Text,
        household_id -> Nullable<BigInt>,
        submitted_by -> BigInt,
        device_id -> Nullable<Text>,
        collected_at -> Timestamp,
        received_at -> Timestamp,
        geotag_lat -> Nullable<Double>,
        geotag_lon -> Nullable<Double>,
        geotag_accuracy_m -> Nullable<Double>,
        geotag_altitude_m -> Nullable<Double>,
        geotag_captured_at -> Nullable<Timestamp>,
        answers -> Text,
        status -> Text,
        risk -> Integer,
        flags -> Text,
        commitment_kind -> Nullable<Text>,
        supersedes -> Nullable<BigInt>,
        superseded_by -> Nullable<BigInt>,
        updated_at -> Timestamp,
        approved_at -> Nullable<Timestamp>,
        evidence_pending -> Bool,
        review_comment -> Nullable<Text>,
    }
}

diesel::table! {
    campaigns (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        directive -> Text,
        scope_area_id -> BigInt,
        starts_on -> Date,
        ends_on -> Date,
        window_start -> Timestamp,
        window_end -> Timestamp,
        utc_offset_minutes -> Integer,
        targets -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    coverage_counts (campaign_id, target_index, village_id) {
        campaign_id -> BigInt,
        target_index -> Integer,
        village_id -> BigInt,
        village_path -> Text,
        eligible -> Integer,
        covered -> Integer,
        pending -> Integer,
    }
}

diesel::table! {
    village_figures (campaign_id, village_id) {
        campaign_id -> BigInt,
        village_id -> BigInt,
        village_path -> Text,
        figures -> Text,
        recounted_at -> Timestamp,
    }
}

diesel::table! {
    coverage_pending (village_id) {
        village_id -> BigInt,
        marks -> BigInt,
        surveys -> Bool,
    }
}

diesel::table! {
    filed_figures (campaign_id, as_of, village_id) {
        campaign_id -> BigInt,
        as_of -> Timestamp,
        village_id -> BigInt,
        village_path -> Text,
        figures -> Text,
        filed_at -> Timestamp,
    }
}

diesel::table! {
    photo_intents (sha256) {
        sha256 -> Text,
        started_at -> Timestamp,
    }
}

diesel::table! {
    evidence_leases (submission_id) {
        submission_id -> BigInt,
        holder -> Text,
        leased_until -> Timestamp,
    }
}

diesel::table! {
    submission_photos (id) {
        id -> BigInt,
        submission_id -> BigInt,
        field_path -> Text,
        part_name -> Text,
        sha256 -> Text,
        subject -> Text,
    }
}

diesel::table! {
    submission_flags (submission_id, code) {
        submission_id -> BigInt,
        code -> Text,
    }
}

diesel::table! {
    household_departures (village_id, sync_seq, household_id) {
        household_id -> BigInt,
        village_id -> BigInt,
        sync_seq -> BigInt,
    }
}

diesel::table! {
    submission_events (id) {
        id -> BigInt,
        submission_id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        comment -> Nullable<Text>,
    }
}

diesel::joinable!(households -> areas (village_id));
diesel::joinable!(submission_photos -> submissions (submission_id));
diesel::joinable!(submission_photos -> photos (sha256));
diesel::joinable!(submission_events -> submissions (submission_id));
diesel::joinable!(submission_flags -> submissions (submission_id));
diesel::joinable!(household_departures -> households (household_id));
diesel::joinable!(submission_events -> users (actor_id));
diesel::joinable!(submissions -> users (submitted_by));
diesel::joinable!(submissions -> households (household_id));
diesel::joinable!(campaigns -> areas (scope_area_id));
diesel::joinable!(coverage_pending -> areas (village_id));
diesel::joinable!(coverage_counts -> campaigns (campaign_id));
diesel::joinable!(form_versions -> forms (form_id));
diesel::joinable!(user_areas -> users (user_id));
diesel::joinable!(user_areas -> areas (area_id));
diesel::joinable!(auth_sessions -> users (user_id));
diesel::joinable!(devices -> users (user_id));
diesel::joinable!(refresh_tokens -> auth_sessions (session_id));

diesel::allow_tables_to_appear_in_same_query!(
    areas,
    sync_counters,
    households,
    users,
    user_areas,
    auth_sessions,
    devices,
    refresh_tokens,
    forms,
    form_versions,
    photos,
    photo_keys,
    common_photo_keys,
    submissions,
    submission_photos,
    submission_flags,
    household_departures,
    submission_events,
    campaigns,
    coverage_counts,
    village_figures,
    coverage_pending,
    filed_figures,
    evidence_leases,
    photo_intents,
);
