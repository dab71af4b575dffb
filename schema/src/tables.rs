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

diesel::joinable!(households -> areas (village_id));
diesel::joinable!(form_versions -> forms (form_id));
diesel::joinable!(user_areas -> users (user_id));
diesel::joinable!(user_areas -> areas (area_id));
diesel::joinable!(auth_sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> auth_sessions (session_id));

diesel::allow_tables_to_appear_in_same_query!(
    areas,
    sync_counters,
    households,
    users,
    user_areas,
    auth_sessions,
    refresh_tokens,
    forms,
    form_versions,
);
